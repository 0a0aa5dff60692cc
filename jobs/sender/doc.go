// Package sender runs the outbound workers: it claims due delivery units
// from the queue (jobs/queue), sends each one and records the outcome.
//
// # One unit
//
// A unit is the recipients of one message in one domain. When the domain
// is hosted here, the message is stored in the recipients' mailboxes by
// mail/delivery, the path inbound mail takes, and a full mailbox defers
// like a remote 452 would. Otherwise the message is DKIM-signed with
// every active key of its sending domain (mail/dkim) and handed to
// mail/outbound, which sends it over one connection to the domain's mail
// exchangers or to the configured smarthost. A message whose domain has
// a key is never sent unsigned: a signing error defers the attempt.
//
// queue.Complete then records each recipient's status, a DeliveryAttempt
// and an event. The bounce owed for recipients that bounced or failed is
// queued in that same transaction (a DSN, RFC 3464, from MAILER-DAEMON of
// the sending domain, with MAIL FROM:<>), so a crash can neither lose it
// nor send it twice; dsn.ShouldBounce keeps bounces from ever causing
// bounces.
//
// # Scheduling
//
// Run claims as many units as it has free workers, up to the per-domain
// limit, whenever a worker finishes while more may be due, when Wake is
// called (new mail was committed) and every poll interval (deferred mail
// becoming due). Claims are leases, so several Lightr processes may run
// workers on one database, and a process killed in the middle of a
// delivery loses nothing: its leases run out and the units are claimed
// again, so only the mail in flight at the kill may arrive twice.
//
// # Stopping
//
// When Run's context ends it claims nothing more and gives the units in
// flight the grace period to finish. A unit still unfinished then has its
// connection cut and is released without counting an attempt, unless
// some recipient already got the message, in which case the outcome is
// recorded as it stands.
package sender
