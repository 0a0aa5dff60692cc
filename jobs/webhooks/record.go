package webhooks

import (
	"context"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/batch"
)

// The recorder's limits: the most attempts one transaction records, and
// the most that may wait before a worker handing in one more blocks.
const (
	maxRecordBatch = 64
	maxPending     = 128
)

// startRecorder returns the group committer of the workers' attempts. A
// worker waits until its attempt is recorded (deliver), keeping its slot
// and its lease till then.
func (d *Dispatcher) startRecorder() *batch.Committer[*attempt] {
	return batch.Start(maxRecordBatch, maxPending, d.writeAttempts)
}

// writeAttempts records all in one transaction or, when that fails, each
// attempt in its own, so that one bad attempt cannot hold up the others.
func (d *Dispatcher) writeAttempts(all []*attempt) {
	ctx := rule.SystemContext(context.Background())
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
