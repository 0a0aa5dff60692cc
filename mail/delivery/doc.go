// Package delivery stores inbound messages in local mailboxes: the raw
// bytes as a blob of the recipient's organization, one message row per
// recipient mailbox with a fresh UID, the account's quota, and a
// message.received event, all in one transaction.
//
// # Durability
//
// The SMTP server may answer 250 to DATA only once the message is safe
// (RFC 5321 §4.1.1.4, §6.1: accepting a message is taking responsibility
// for it). Deliver therefore returns only after the transaction holding the
// message has committed. The database runs in WAL mode with
// synchronous=FULL (see server/db), so a commit returns after the
// write-ahead log has been synced to disk: a crash or power loss after
// Deliver returned keeps the message. When Deliver returns an error,
// nothing of the message was stored and the SMTP server answers with a
// temporary failure, so that the sender tries again.
//
// # Group commit
//
// That sync is what a commit costs: on most disks it takes far longer than
// the few inserts a message needs. SQLite has a single writer, so
// committing each message on its own would cap delivery at one message per
// sync however many connections arrive at once. Instead a Deliverer has
// one committer goroutine, which owns all its writes: Deliver queues the
// message and waits; the committer takes everything queued (up to
// Options.MaxBatch), stores it in one transaction, and answers every waiter
// after COMMIT returns. While it commits, new messages queue up, so a batch
// is one message when the server is idle and grows with load, and the
// cost of one sync is shared by the whole batch. Options.MaxDelay can make
// the committer wait a little for a batch to fill; by default it does not
// wait, which keeps an idle server's latency at one commit.
//
// A message that fails (a constraint violation, say) is rolled back alone
// and its caller gets the error, while the rest of the batch commits. A
// batch is first written without savepoints, which would cost a
// sub-journal copy of every page changed and two statements per message;
// when one of its messages fails, the transaction is rolled back and the
// batch written again with each message under its own SAVEPOINT. Only a
// failure of the transaction itself (BEGIN or COMMIT failing, the disk
// full) fails the whole batch.
//
// # Per recipient
//
// For each recipient, in one transaction with the others: the quota is
// charged (and checked: CheckQuota at RCPT TO time is only advisory), the
// mailbox's uid_next and highest_modseq are incremented in one UPDATE …
// RETURNING, so UIDs strictly increase and are never reused (RFC 9051
// §2.3.1.1) and the new message's MODSEQ is the mailbox's new
// HIGHESTMODSEQ (RFC 7162 §3.1.1); the blob is saved once per organization
// and message (store.Store.Save also finds identical bytes stored before);
// the message row and its event are inserted. A recipient that is over
// quota, or whose account or mailbox is gone, fails alone and leaves
// nothing behind.
//
// The rows are written with raw SQL through Ent's transaction rather than
// with Ent builders: the tenant hook of an Ent create reads the owner of
// every row it links, which would double the statements per copy. The
// tenancy it guards holds by construction instead: every row of a copy is
// stamped with the target's organization, and the quota UPDATE that
// starts the copy matches the account by id, organization and domain, so
// a target naming the wrong organization fails as ErrNoAccount before
// anything is written. A copy costs four statements (quota, UID, message,
// event) and a new blob four more (through store.Store.Save); the tests
// count them, and read every column back through Ent.
package delivery
