package webhooks

import (
	"context"

	"github.com/lightr-mail/lightr/ent/rule"
)

// maxRecordBatch is the most attempts one transaction records.
const maxRecordBatch = 64

// recorder writes the workers' attempts with group commit: each
// transaction records whatever finished while the previous one committed,
// so that many deliveries share one commit and its fsync. A worker waits
// until its attempt is recorded, keeping its slot and its lease till then.
type recorder struct {
	d    *Dispatcher
	in   chan *pendingAttempt
	quit chan struct{}
	done chan struct{}
}

type pendingAttempt struct {
	a    *attempt
	done chan struct{}
}

func (d *Dispatcher) startRecorder() *recorder {
	r := &recorder{d: d, in: make(chan *pendingAttempt), quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// record hands a to the recorder and waits until it is written.
func (r *recorder) record(a *attempt) {
	p := &pendingAttempt{a: a, done: make(chan struct{})}
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
		var batch []*pendingAttempt
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
// attempt in its own, so that one bad attempt cannot hold up the others.
func (r *recorder) write(batch []*pendingAttempt) {
	ctx := rule.SystemContext(context.Background())
	d := r.d
	all := make([]*attempt, len(batch))
	for i, p := range batch {
		all[i] = p.a
	}
	err := d.recordAll(ctx, all, d.opts.Now())
	if err == nil {
		return
	}
	if len(all) > 1 {
		d.log.Warn("recording a batch of webhook attempts failed; recording them one by one", "n", len(all), "err", err)
		for _, a := range all {
			if err := d.recordAll(ctx, []*attempt{a}, d.opts.Now()); err != nil {
				a.err = err
			}
		}
		return
	}
	all[0].err = err
}
