// Package mailbox changes the messages of mailboxes: their flags, the
// mailbox that holds them, and whether they exist at all. The GraphQL API
// calls it today and the IMAP server (STORE, MOVE, EXPUNGE) will.
//
// Every function takes the caller's context, whose viewer the Ent privacy
// rules apply to, so a caller only ever reaches its own organization's
// messages (and an account viewer only its own account's). Each call is
// one transaction: the caller's, when the client given is already a
// transaction's, or one of its own.
//
// The IMAP invariants hold after every call (RFC 9051 §2.3.1.1, RFC 7162
// §3.1): a message that enters a mailbox gets a UID above every UID that
// mailbox ever assigned, and each change raises the mailbox's
// HIGHESTMODSEQ and sets the changed messages' MODSEQ to the new value.
//
// Every function also takes a *notify.Hub, which may be nil, and tells it
// of each mailbox it changed only once the change is committed: after its
// own transaction's commit, or from the commit hook of the caller's, which
// the context must then carry (ent.TxFromContext), else the call fails
// with ErrTxNotInContext. A rolled-back change wakes no one.
package mailbox
