package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/mail/delivery"
)

// BenchmarkDeliver stores 4 KiB messages for one recipient from 1 and 20
// concurrent senders, and reports messages per second and the average
// number of messages per transaction. For comparison, 20 senders also run
// with a MaxDelay, and without group commit (MaxBatch 1).
func BenchmarkDeliver(b *testing.B) {
	for _, bc := range []struct {
		name    string
		senders int
		o       delivery.Options
	}{
		{"senders=1", 1, delivery.Options{}},
		{"senders=20", 20, delivery.Options{}},
		{"senders=20/delay=1ms", 20, delivery.Options{MaxDelay: time.Millisecond}},
		{"senders=20/no-group-commit", 20, delivery.Options{MaxBatch: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b)
			d := f.deliverer(b, bc.o)
			rcpt := []delivery.Recipient{f.rcpt("alice", "")}
			// Distinct messages, made beforehand, so that every one stores a
			// new blob as real mail does.
			msgs := make([]*delivery.Message, b.N)
			for i := range msgs {
				msgs[i] = &delivery.Message{Raw: rawMessage(4096), Parsed: parsed("benchmark"),
					SPF: "pass", DKIM: "pass", DMARC: "pass", Recipients: rcpt}
			}
			next := make(chan *delivery.Message, b.N)
			for _, m := range msgs {
				next <- m
			}
			close(next)

			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range bc.senders {
				wg.Go(func() {
					for m := range next {
						if _, _, err := d.Deliver(context.Background(), m); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()

			st := d.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(st.AvgBatch(), "msgs/commit")
		})
	}
}
