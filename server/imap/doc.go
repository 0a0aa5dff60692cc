// Package imap is Lightr's IMAP server: the hosted mailboxes for ordinary
// clients (Thunderbird, Apple Mail, mutt, mbsync). It speaks IMAP4rev1
// and IMAP4rev2 through github.com/emersion/go-imap/v2's imapserver, which
// parses commands and writes responses; this package decides what they
// mean on Lightr's data.
//
// # One set of data
//
// A session logs in as an account and works with the account viewer in
// its context, so the Ent privacy rules confine it to that account's
// mailboxes and messages in the data layer. Every change goes through
// package mail/mailbox, the same code the GraphQL API calls, so a flag set
// here shows there and the other way round. FETCH is served from what
// delivery cached on the message row (envelope, body structure with byte
// offsets, sizes) and from the stored raw message, through package
// server/imap/render; SEARCH runs through server/imap/search.
//
// # Sequence numbers and updates
//
// Each session keeps the UIDs of its selected mailbox as its client knows
// them: sequence number n is the n-th UID of that list (RFC 9051 §2.3.1.2).
// The list changes only when the session tells its client: new messages
// with EXISTS, removed ones with EXPUNGE, and only where the protocol
// allows it (RFC 9051 §7.5.1: not during FETCH, STORE or SEARCH), so that
// the numbers the client uses stay right while other sessions, SMTP
// delivery or the API change the mailbox. Changes are found by
// mod-sequence: every change raises the mailbox's HIGHEST-MODSEQ and
// stamps the messages it touched (mail/mailbox), so a session asks only
// for rows above the last value it reported. Package mail/notify wakes an
// IDLE session when its mailbox changes; NOOP and every command check too.
package imap
