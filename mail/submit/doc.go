// Package submit sends mail for API callers: it checks that the caller
// may send as the From address, builds the MIME message (mail/compose),
// queues it for every recipient (mail/outbox) and files a copy in the
// sending account's Sent mailbox, all in the caller's transaction. It
// also retries and cancels queued messages.
//
// Sending is idempotent per organization and key: a repeated request
// with the same key and the same content returns the first message; the
// same key with other content is refused. The workers deliver what was
// queued once the caller's transaction committed and woke them.
package submit
