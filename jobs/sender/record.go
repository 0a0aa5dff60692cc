package sender

import (
	"context"
	"errors"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/queue"
)

// maxRecordBatch is the most outcomes one transaction records, and
// maxPending the most that may wait for the recorder before a worker
// handing in one more blocks.
const (
	maxRecordBatch = 128
	maxPending     = 256
)

// pendingOutcome is an outcome waiting for the recorder, and what to do
// once it is written.
type pendingOutcome struct {
	out  *queue.Outcome
	then func(*queue.Outcome)
}

// recorder writes the workers' outcomes with group commit: each
// transaction records whatever finished while the previous one committed,
// so that a busy sender pays one commit, with its fsync, for many
// deliveries instead of one each. A worker hands its outcome in and takes
// the next unit; the unit keeps its lease until the outcome is written,
// so nobody else sends it meanwhile.
type recorder struct {
	s    *Sender
	in   chan *pendingOutcome
	quit chan struct{}
	done chan struct{}
}

func (s *Sender) startRecorder() *recorder {
	r := &recorder{
		s: s, in: make(chan *pendingOutcome, maxPending),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	go r.run()
	return r
}

// submit hands o to the recorder, which calls then once o is written (or
// failed: o.Err says), from its own goroutine.
func (r *recorder) submit(o *queue.Outcome, then func(*queue.Outcome)) {
	r.in <- &pendingOutcome{out: o, then: then}
}

// stop writes what is still waiting and ends the recorder, once no worker
// is left to call submit.
func (r *recorder) stop() {
	close(r.quit)
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	for {
		var batch []*pendingOutcome
		select {
		case p := <-r.in:
			batch = append(batch, p)
		case <-r.quit:
			select {
			case p := <-r.in: // the last ones, handed in before stop
				batch = append(batch, p)
			default:
				return
			}
		}
	fill:
		for len(batch) < maxRecordBatch {
			select {
			case p := <-r.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		r.write(batch)
		for _, p := range batch {
			p.then(p.out)
		}
	}
}

// write records batch in one transaction or, when that fails, each
// outcome in its own, so that one bad outcome cannot hold up the others.
// The context is the system's without a deadline: an outcome is recorded
// even while shutting down, since the delivery happened.
func (r *recorder) write(batch []*pendingOutcome) {
	ctx := rule.SystemContext(context.Background())
	s := r.s
	outs := make([]*queue.Outcome, len(batch))
	for i, p := range batch {
		outs[i] = p.out
	}
	err := queue.CompleteAll(ctx, s.client, outs, s.opts.Now(), s.opts.Policy)
	if err == nil || len(outs) == 1 {
		if err != nil {
			outs[0].Err = err
		}
		return
	}
	s.log.Warn("recording a batch of outcomes failed; recording them one by one", "n", len(outs), "err", err)
	for _, o := range outs {
		if err := queue.CompleteAll(ctx, s.client, []*queue.Outcome{o}, s.opts.Now(), s.opts.Policy); err != nil &&
			!errors.Is(o.Err, queue.ErrLeaseLost) {
			o.Err = err
		}
	}
}
