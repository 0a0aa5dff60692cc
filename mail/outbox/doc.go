// Package outbox puts messages into the outbound queue: it stores the
// raw message once (mail/store), writes the OutboundMessage with one
// OutboundRecipient per distinct recipient, and appends a message.queued
// event for each, all in the caller's transaction, so that a message is
// either wholly queued or not at all. Sending it is the workers' job
// (jobs/sender), which the caller wakes after committing.
//
// Every recipient is queued, local ones too: a recipient in a hosted
// domain is delivered by the worker through the same local-delivery path
// as inbound mail (mail/delivery), so that a full mailbox defers and
// retries like a remote server's 452 would, and the API reports every
// recipient's state the same way.
//
// The events this package and jobs/queue append share the names below;
// their payload carries the recipient's status and the last reply.
package outbox
