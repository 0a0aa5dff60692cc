package sender

import (
	"context"
	"errors"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/batch"
	"github.com/lightr-mail/lightr/jobs/queue"
)

// The recorder's limits: the most outcomes one transaction records, and
// the most that may wait before a worker handing in one more blocks.
const (
	maxRecordBatch = 128
	maxPending     = 256
)

// startRecorder returns the group committer of the workers' outcomes. A
// worker hands its outcome in and takes the next unit; the unit keeps its
// lease until the outcome is written, so nobody else sends it meanwhile.
func (s *Sender) startRecorder() *batch.Committer[*queue.Outcome] {
	return batch.Start(maxRecordBatch, maxPending, s.writeOutcomes)
}

// writeOutcomes records outs in one transaction or, when that fails, each
// in its own, so that one bad outcome cannot hold up the others. The
// context is the system's without a deadline: an outcome is recorded even
// while shutting down, since the delivery happened.
func (s *Sender) writeOutcomes(outs []*queue.Outcome) {
	ctx := rule.SystemContext(context.Background())
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
