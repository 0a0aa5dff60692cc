package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

// Per-recipient errors, returned in the slot of the recipient.
var (
	// ErrOverQuota means the message would take the account past its
	// quota. SMTP answers 552 5.2.2 (RFC 3463 §3.3).
	ErrOverQuota = errors.New("delivery: over quota")
	// ErrNoAccount means the account no longer exists (it was deleted
	// after RCPT TO).
	ErrNoAccount = errors.New("delivery: no such account")
	// ErrNoMailbox means the account has neither the mailbox asked for
	// nor an INBOX.
	ErrNoMailbox = errors.New("delivery: no mailbox")
)

// Errors that concern the whole message: nothing was stored.
var (
	// ErrClosed is returned by Deliver after Close.
	ErrClosed = errors.New("delivery: deliverer closed")
	// ErrNoRecipients is returned for a message without recipients.
	ErrNoRecipients = errors.New("delivery: no recipients")
)

// Inbox is the name of the mailbox that receives mail by default. Its name
// is case-insensitive (RFC 9051 §5.1); Lightr stores it in upper case.
const Inbox = "INBOX"

// Message is an inbound message to store, with the verdicts of the
// checks the SMTP server ran on it.
type Message struct {
	// Raw is exactly the bytes to store, trace headers (Return-Path,
	// Received, Authentication-Results) already prepended.
	Raw []byte
	// Parsed is what the message parser found in Raw, cached in the
	// message rows; nil stores the rows with empty cache columns.
	Parsed *message.Parsed
	// SPF, DKIM and DMARC are the verdict keywords (pass, fail, none, …).
	SPF, DKIM, DMARC string
	// AuthResults is the value of the Authentication-Results header.
	AuthResults string
	// InternalDate is the IMAP INTERNALDATE; zero means now.
	InternalDate time.Time
	// Recipients receive the message, each in one mailbox.
	Recipients []Recipient
	// AllOrNothing stores the message for no one when some recipient
	// cannot get it: Deliver then fails with a *RecipientsError. SMTP sets
	// it, since one reply to DATA covers every recipient: answering 250
	// after storing only some copies would lose the others' silently,
	// while a 4xx makes the client retry, and the retry's RCPT TO refuses
	// the recipient that still cannot take it on its own.
	AllOrNothing bool
}

// RecipientsError is the failure of an AllOrNothing message that some
// recipients could not get. Nothing of the message was stored.
type RecipientsError struct {
	// Errs has one entry per recipient, in order: nil, or the reason
	// (ErrOverQuota, ErrNoAccount, ErrNoMailbox).
	Errs []error
}

// Error implements error.
func (e *RecipientsError) Error() string {
	return "delivery: not every recipient can take the message: " + errors.Join(e.Errs...).Error()
}

// Unwrap returns the recipients' errors, for errors.Is.
func (e *RecipientsError) Unwrap() []error { return e.Errs }

// Recipient is a local account and the mailbox it gets the message in.
type Recipient struct {
	directory.Target
	// Mailbox is "INBOX" normally, or "Junk" for mail that DMARC
	// quarantines. A mailbox that does not exist falls back to INBOX;
	// empty means INBOX.
	Mailbox string
}

// Delivered reports one stored copy of a message.
type Delivered struct {
	Recipient Recipient
	MessageID pulid.ID
	MailboxID pulid.ID
	UID       uint32
}

// Options tune a Deliverer.
type Options struct {
	// MaxBatch is the most messages one transaction stores. Zero means 64.
	MaxBatch int
	// MaxDelay is how long the committer may wait to fill a batch once a
	// message is waiting. Zero means no wait: a batch is whatever queued
	// up while the previous transaction committed.
	MaxDelay time.Duration
	// OnCommit, when set, is called with the copies each transaction
	// stored, after it committed and before the Deliver calls return, from
	// the committer's goroutine: it must not block (hand the work to
	// another goroutine), or every delivery waits.
	OnCommit func([]Delivered)
}

// Deliverer stores inbound messages into mailboxes. Its methods are safe
// for concurrent use; all writes go through its one committer goroutine.
type Deliverer struct {
	db    *db.DB
	store *store.Store
	opts  Options

	mu     sync.Mutex
	queue  []*request
	closed bool
	wake   chan struct{} // has a value when queue or closed changed
	done   chan struct{} // closed when the committer has exited

	stats counters
}

// New returns a Deliverer writing to d, with blobs saved through s, and
// starts its committer. Call Close to stop it.
func New(d *db.DB, s *store.Store, o Options) *Deliverer {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	dl := &Deliverer{
		db:    d,
		store: s,
		opts:  o,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	go dl.run()
	return dl
}

// Deliver stores m for each of its recipients and returns once the
// transaction holding it has committed, so that it is on disk (the
// database runs with synchronous=FULL) and the SMTP server may answer 250.
//
// The first result lists the stored copies. The second is nil when every
// recipient got its copy; otherwise it has one entry per recipient of m,
// in order: nil, or the reason that recipient got nothing (ErrOverQuota,
// ErrNoAccount, ErrNoMailbox). A recipient named twice for the same
// mailbox gets one copy, reported for both. A non-nil third result means
// nothing at all was stored.
//
// If ctx ends before the committer took the message, Deliver returns
// ctx.Err() and the message is never stored; once taken, Deliver waits for
// the outcome, which takes at most one transaction.
func (d *Deliverer) Deliver(ctx context.Context, m *Message) ([]Delivered, []error, error) {
	if m == nil || len(m.Recipients) == 0 {
		return nil, nil, ErrNoRecipients
	}
	r, err := newRequest(m)
	if err != nil {
		return nil, nil, err
	}
	if err := d.enqueue(r); err != nil {
		return nil, nil, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateCanceled) {
			d.stats.pending.Add(-1)
			return nil, nil, fmt.Errorf("delivery: %w", ctx.Err())
		}
		// The committer has it: the outcome is at most one commit away,
		// and the caller must learn whether the message was stored.
		<-r.done
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	return r.delivered, r.errs, nil
}

// enqueue hands r to the committer.
func (d *Deliverer) enqueue(r *request) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.queue = append(d.queue, r)
	d.stats.pending.Add(1)
	d.mu.Unlock()
	d.signal()
	return nil
}

// signal wakes the committer without blocking.
func (d *Deliverer) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting messages, waits until the committer has stored
// everything already queued, and stops it. It does not close the
// database. Calling Close again returns nil.
func (d *Deliverer) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.signal()
	<-d.done
	return nil
}

// CheckQuota reports ErrOverQuota when size more bytes would take the
// account past its quota (a quota of 0 means no limit), and ErrNoAccount
// when the account does not exist. It reads outside any transaction, for
// RCPT TO time (RFC 1870 SIZE); Deliver checks again when it stores.
func (d *Deliverer) CheckQuota(ctx context.Context, accountID pulid.ID, size int64) error {
	rows, err := d.db.Driver.Reader().QueryContext(ctx,
		`SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?`, string(accountID))
	if err != nil {
		return fmt.Errorf("delivery: quota of %s: %w", accountID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("delivery: quota of %s: %w", accountID, err)
		}
		return fmt.Errorf("%w: %s", ErrNoAccount, accountID)
	}
	var quota, used int64
	if err := rows.Scan(&quota, &used); err != nil {
		return fmt.Errorf("delivery: quota of %s: %w", accountID, err)
	}
	if quota > 0 && used+size > quota {
		return fmt.Errorf("%w: %s", ErrOverQuota, accountID)
	}
	return nil
}

// Stats are counters of a Deliverer's work since New.
type Stats struct {
	// Commits counts committed transactions.
	Commits uint64
	// Batched counts the messages in those transactions, including any
	// that failed alone and were rolled back to their savepoint.
	Batched uint64
	// Failed counts messages that failed, alone or with their batch.
	Failed uint64
	// MaxBatch is the largest number of messages one transaction held.
	MaxBatch uint64
	// Retried counts batches that were rolled back because one of their
	// messages failed, and stored again with a savepoint per message.
	Retried uint64
	// Pending is the number of messages queued or being stored now.
	Pending int64
}

// AvgBatch returns the average number of messages per committed
// transaction.
func (s Stats) AvgBatch() float64 {
	if s.Commits == 0 {
		return 0
	}
	return float64(s.Batched) / float64(s.Commits)
}

// Stats returns the counters so far.
func (d *Deliverer) Stats() Stats {
	return Stats{
		Commits:  d.stats.commits.Load(),
		Batched:  d.stats.batched.Load(),
		Failed:   d.stats.failed.Load(),
		MaxBatch: d.stats.maxBatch.Load(),
		Retried:  d.stats.retried.Load(),
		Pending:  d.stats.pending.Load(),
	}
}

// counters back Stats.
type counters struct {
	commits, batched, failed, maxBatch, retried atomic.Uint64
	pending                                     atomic.Int64
}
