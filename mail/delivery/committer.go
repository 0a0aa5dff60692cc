package delivery

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent/rule"
)

// run is the committer: it takes what is queued, stores it in one
// transaction, answers, and starts over, until Close and an empty queue.
func (d *Deliverer) run() {
	defer close(d.done)
	for {
		batch, closed := d.take(nil)
		if len(batch) == 0 {
			if closed {
				return
			}
			<-d.wake
			continue
		}
		if d.opts.MaxDelay > 0 && len(batch) < d.opts.MaxBatch && !closed {
			batch = d.fill(batch)
		}
		d.commit(batch)
	}
}

// take moves queued requests to batch, up to MaxBatch, skipping those
// whose caller gave up, and reports whether the Deliverer is closed.
func (d *Deliverer) take(batch []*request) ([]*request, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, r := range d.queue {
		if len(batch) == d.opts.MaxBatch {
			break
		}
		n++
		if r.state.CompareAndSwap(stateQueued, stateTaken) {
			batch = append(batch, r)
		}
	}
	// Clear the taken slots so that the queue's array does not keep
	// answered messages alive.
	clear(d.queue[:n])
	d.queue = d.queue[n:]
	if len(d.queue) == 0 {
		d.queue = nil
	}
	return batch, d.closed
}

// fill waits up to MaxDelay for more requests to join batch, and returns
// early once the batch is full or the Deliverer closes.
func (d *Deliverer) fill(batch []*request) []*request {
	t := time.NewTimer(d.opts.MaxDelay)
	defer t.Stop()
	for {
		select {
		case <-d.wake:
			var closed bool
			batch, closed = d.take(batch)
			if closed || len(batch) == d.opts.MaxBatch {
				return batch
			}
		case <-t.C:
			batch, _ = d.take(batch)
			return batch
		}
	}
}

// commit stores batch in one transaction and answers every request once
// the outcome is known: after COMMIT returned, or after the rollback that
// stored nothing.
//
// A message fails on its own only rarely: through a fault (a constraint
// broken, say), or, when it is AllOrNothing, because a recipient filled
// its quota or went away since RCPT TO. So the batch is first written
// without savepoints, which cost a sub-journal copy of every page changed
// and two statements per message.
// If one of several messages fails, that transaction is rolled back and
// the batch stored again, each message under its own savepoint, so that
// only the failing message is lost.
func (d *Deliverer) commit(batch []*request) {
	ctx := rule.SystemContext(context.Background())
	var delivered []Delivered
	stored, err := d.runTx(ctx, batch, false)
	var mf *messageFailure
	if errors.As(err, &mf) {
		for _, r := range batch {
			r.delivered, r.errs = nil, nil
		}
		d.stats.retried.Add(1)
		stored, err = d.runTx(ctx, batch, true)
	}
	for i, r := range batch {
		switch {
		case err != nil:
			r.err = err
		case !stored[i]:
			// storeOne set r.err.
		default:
			delivered = append(delivered, r.delivered...)
		}
		if r.err != nil {
			d.stats.failed.Add(1)
		}
	}
	if err == nil {
		n := uint64(len(batch))
		d.stats.commits.Add(1)
		d.stats.batched.Add(n)
		if n > d.stats.maxBatch.Load() {
			d.stats.maxBatch.Store(n) // only this goroutine writes it
		}
	}
	// OnCommit runs before the waiters are answered, so that a copy is
	// announced by the time its Deliver returns.
	if d.opts.OnCommit != nil && len(delivered) > 0 {
		d.opts.OnCommit(delivered)
	}
	// Pending drops first, so that Stats read after Deliver returned
	// no longer counts the message.
	d.stats.pending.Add(-int64(len(batch)))
	for _, r := range batch {
		close(r.done)
	}
}

// runTx runs the transaction of commit and reports, per request, whether
// its message is part of it. A non-nil error means nothing was stored:
// without savepoints, a *messageFailure when one message of several
// failed and the others could be stored again.
func (d *Deliverer) runTx(ctx context.Context, batch []*request,
	savepoints bool) (stored []bool, err error) {
	tx, err := d.db.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("delivery: begin: %w", err)
	}
	defer func() {
		// A panic would otherwise take the process down with every
		// message of the batch unanswered.
		if p := recover(); p != nil {
			err = fmt.Errorf("delivery: panic: %v", p)
		}
		if err != nil {
			// After a failed COMMIT, database/sql has ended the
			// transaction already.
			if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, stdsql.ErrTxDone) {
				err = fmt.Errorf("%w (rollback: %w)", err, rerr)
			}
		}
	}()

	t := &txn{tx: tx, c: tx.Client(), now: time.Now()}
	stored = make([]bool, len(batch))
	for i, r := range batch {
		if savepoints {
			if stored[i], err = d.storeOne(ctx, t, r); err != nil {
				return nil, err
			}
			continue
		}
		// Alone, a failing message rolls back the transaction, which is
		// all a savepoint would do.
		if r.delivered, r.errs, err = d.write(ctx, t, r); err != nil {
			if len(batch) > 1 {
				err = &messageFailure{err}
			}
			return nil, err
		}
		stored[i] = true
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("delivery: commit: %w", err)
	}
	return stored, nil
}

// messageFailure is the error of one message in a batch written without
// savepoints: the batch is to be stored again with them.
type messageFailure struct{ err error }

// Error implements error.
func (f *messageFailure) Error() string { return f.err.Error() }

// Unwrap returns the message's error.
func (f *messageFailure) Unwrap() error { return f.err }

// storeOne stores r's message under a savepoint. It returns false, with
// r.err set, when the message failed and was rolled back alone; an error
// means the transaction itself is unusable.
func (d *Deliverer) storeOne(ctx context.Context, t *txn, r *request) (bool, error) {
	if _, err := t.tx.ExecContext(ctx, "SAVEPOINT msg"); err != nil {
		return false, fmt.Errorf("delivery: savepoint: %w", err)
	}
	delivered, errs, err := d.write(ctx, t, r)
	if err != nil {
		// ROLLBACK TO undoes the message's writes but leaves the
		// savepoint open; RELEASE then drops it (SQLite "SAVEPOINT").
		for _, stmt := range []string{"ROLLBACK TO msg", "RELEASE msg"} {
			if _, rerr := t.tx.ExecContext(ctx, stmt); rerr != nil {
				return false, fmt.Errorf("delivery: roll back message: %w (after %w)", rerr, err)
			}
		}
		r.err = err
		return false, nil
	}
	if _, err := t.tx.ExecContext(ctx, "RELEASE msg"); err != nil {
		return false, fmt.Errorf("delivery: release savepoint: %w", err)
	}
	r.delivered, r.errs = delivered, errs
	return true, nil
}
