// Package feed serves organizations' event logs to live readers: the
// GraphQL events subscription, over WebSocket and SSE.
//
// The events table is the one source of truth. Every change appends its
// event rows in the transaction that makes the change, and the writer
// calls notify.Hub.PublishEvents once it committed. A wake-up carries no
// data: it says "the log of this organization grew". Each organization
// with subscribers has one reader, which on a wake-up reads the rows past
// the last sequence number it saw (seq, which follows commit order) and
// hands each row to the subscribers whose filters it matches. One query
// per wake-up serves any number of subscribers.
//
// A subscriber that names a cursor first replays the stored rows after
// it, with its own queries, and only then joins the reader, under the
// reader's lock and only if the reader has not read past the last row
// replayed; otherwise it replays the difference and tries again. A row is
// handed to a subscriber only if its seq is above the subscriber's
// cursor, so the switch from replay to live loses nothing and repeats
// nothing.
//
// The reader never waits for a subscriber: each has a bounded buffer, and
// one whose buffer is full when a row arrives is dropped with
// ErrSlowConsumer. It can reconnect with the cursor of the last event it
// received.
package feed
