package sender

import (
	"context"
	"errors"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/queue"
)

// maxRecordBatch is the most outcomes one transaction records.
const maxRecordBatch = 64

// pendingOutcome is an outcome waiting for the recorder, and the channel
// its worker waits on.
type pendingOutcome struct {
	out  *queue.Outcome
	done chan struct{}
}

// recorder writes the workers' outcomes with group commit: each
// transaction records whatever finished while the previous one committed,
// so that a busy sender pays one commit, with its fsync, for many
// deliveries instead of one each. A worker waits until its outcome is
// recorded, so a unit holds its worker, and its lease, until then.
type recorder struct {
	s    *Sender
	in   chan *pendingOutcome
	quit chan struct{}
	done chan struct{}
}

func (s *Sender) startRecorder() *recorder {
	r := &recorder{s: s, in: make(chan *pendingOutcome), quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// record hands o to the recorder and waits until it is written; o.Err
// and o.Failures then tell what became of it.
func (r *recorder) record(o *queue.Outcome) {
	p := &pendingOutcome{out: o, done: make(chan struct{})}
	r.in <- p
	<-p.done
}

// stop ends the recorder once no worker is left to call record.
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
			return
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
			close(p.done)
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
