// Package queue is the persistent outbound queue: it hands delivery units
// to workers under a lease and records what became of them.
//
// # Units
//
// A delivery unit is the recipients of one OutboundMessage that share a
// domain and are due: status queued or deferred, next_attempt_at unset or
// past, and no unexpired lease. A worker sends a unit over one connection
// (outbound.Client.Deliver) and hands the per-recipient results to
// Complete, or gives the unit back with Release when it stops first.
//
// # Leases
//
// Claim selects due rows and writes lease_owner and lease_until on every
// row of each unit it returns, in one transaction. On SQLite that
// transaction is atomic against every other claimer: server/db gives the
// writer a single connection, so claimers in one process take turns, and
// its transactions begin IMMEDIATE, so the database write lock is held
// from the first SELECT to the COMMIT and a claimer in another process
// waits (busy_timeout) instead of reading rows that are about to be
// leased. Two claimers therefore never see the same unit as free. On
// PostgreSQL, where writers do run concurrently, the same selection must
// lock what it reads, SELECT … FOR UPDATE SKIP LOCKED, so that a second
// claimer skips the rows the first is leasing rather than waiting for them
// or leasing them twice.
//
// A lease is a promise that nobody else sends the unit until lease_until.
// A worker that crashes simply lets it run out, after which the unit is
// due again: nothing is lost, and the only mail that can go out twice is
// mail that was in flight at the crash. The lease must be longer than a
// delivery can take (outbound's timeouts bound that). Complete and
// Release check that the lease written by the Claim is still in place
// (the owner and the lease_until it wrote); if another worker has claimed
// the unit since, they change nothing and return ErrLeaseLost.
//
// # Retries
//
// A deferred recipient is tried again after the Schedule's delay for the
// number of attempts made so far: by default 1m, 5m, 15m, 30m, 1h, 2h, 4h,
// 8h, then every 8h. Each delay is stretched or shrunk at random by up to
// Jitter (20%) so that units deferred together (a remote outage) do not
// all come back in the same second. The recipients of one unit share one
// delay and so stay one unit. A recipient still deferred when its message
// has been queued longer than MaxAge (5 days, as RFC 5321 §4.5.4.1
// suggests) fails instead, and the caller owes its sender a bounce.
//
// # Fairness
//
// Claim takes units in the order their messages were queued (recipient
// ids are ULIDs), and at most perDomain units of one destination domain
// may be leased at a time, counting the leases of every worker and
// process, so that one slow or throttling domain cannot occupy every
// worker.
package queue
