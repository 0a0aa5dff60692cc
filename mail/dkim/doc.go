// Package dkim holds Lightr's DKIM keys: generating them and writing the
// DNS record that publishes them (RFC 6376 §3.6.1, RFC 8463 for Ed25519).
// Signing and verification use github.com/emersion/go-msgauth.
package dkim
