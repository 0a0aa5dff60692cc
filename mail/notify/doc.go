// Package notify wakes the parts of the server that watch a mailbox when
// that mailbox changes. It is how an IMAP session in IDLE (RFC 2177) or
// answering NOOP learns, within a moment, of mail that SMTP delivered,
// of flags the GraphQL API changed, and of another session's STORE or
// EXPUNGE, without polling the database.
//
// A wake-up carries no data: it says only "look again". The subscriber
// then reads the mailbox (UIDs, MODSEQs) from the database, which is the
// one source of truth, so a lost or merged wake-up costs nothing but
// latency. Publishers therefore tell the hub only after their transaction
// committed; a subscriber woken earlier would read the old state and then
// sleep through the change.
//
// The hub lives in one process. A second lightr process writing to the
// same database (the CLI) wakes nobody; its changes show at the next
// wake-up or at a session's periodic check.
//
// Keys are ids (pulid.ID), unique across all tables. A mailbox's id
// means its messages changed; an organization's id means events were
// appended to its log (PublishEvents, which also publishes AllEvents for
// readers of every log). An account's id can later carry changes to its
// list of mailboxes (CREATE, DELETE, RENAME, for LIST-STATUS and NOTIFY)
// through the same Subscribe and Publish, without a second kind of
// subscription.
package notify
