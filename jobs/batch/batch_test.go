package batch_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lightr-mail/lightr/jobs/batch"
)

// TestCommitter_BatchesAndCallsBack: every item is written once and its
// callback runs after its write; items handed in while a write runs share
// the next one; Stop writes what was handed in before it.
func TestCommitter_BatchesAndCallsBack(t *testing.T) {
	release := make(chan struct{})
	var writes, written atomic.Int64
	var mu sync.Mutex
	done := map[int]bool{}
	c := batch.Start(64, 256, func(items []*int) {
		if writes.Add(1) == 1 {
			<-release // hold the first write so that the others queue up
		}
		written.Add(int64(len(items)))
		mu.Lock()
		for _, it := range items {
			done[*it] = true
		}
		mu.Unlock()
	})
	const n = 100
	var called atomic.Int64
	for i := range n {
		v := i
		c.Submit(&v, func(p *int) {
			mu.Lock()
			ok := done[*p]
			mu.Unlock()
			if !ok {
				t.Errorf("callback of %d before its write", *p)
			}
			called.Add(1)
		})
	}
	close(release)
	c.Stop()
	if written.Load() != n || called.Load() != n {
		t.Fatalf("%d written, %d callbacks; want %d each", written.Load(), called.Load(), n)
	}
	// The first write holds whatever came before it; the other items
	// wait meanwhile and go in batches of at most 64: at most 3 writes.
	if w := writes.Load(); w > 3 {
		t.Errorf("%d writes for %d items, want at most 3", w, n)
	}
}
