// Package store keeps raw messages: each is stored once per organization,
// addressed by its SHA-256, and shared by every mailbox copy and outbound
// message made of it. A Blob row records the message; a BlobStore keeps
// the bytes. The default BlobStore is the database itself, so that one
// SQLite file holds all of Lightr's state and one backup covers it; the
// interface leaves room for a filesystem or S3-compatible store.
package store
