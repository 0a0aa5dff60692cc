package notify_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
)

// mailbox returns a mailbox-like id, distinct for each n.
func mailbox(n int) pulid.ID { return pulid.ID(fmt.Sprintf("mbx_%026d", n)) }

// woken reports whether s has a wake-up pending, and takes it.
func woken(s *notify.Subscription) bool {
	select {
	case <-s.C:
		return true
	default:
		return false
	}
}

func TestHub_WakesOnlyTheMailboxPublished(t *testing.T) {
	h := notify.New()
	a1, a2, b := h.Subscribe(mailbox(1)), h.Subscribe(mailbox(1)), h.Subscribe(mailbox(2))
	defer a1.Close()
	defer a2.Close()
	defer b.Close()

	h.Publish(mailbox(1))
	if !woken(a1) || !woken(a2) {
		t.Error("a subscriber of the published mailbox was not woken")
	}
	if woken(b) {
		t.Error("a subscriber of another mailbox was woken")
	}

	h.Publish(mailbox(3), mailbox(2))
	if !woken(b) || woken(a1) {
		t.Error("Publish of two ids woke the wrong subscribers")
	}
}

func TestHub_Coalesces(t *testing.T) {
	h := notify.New()
	s := h.Subscribe(mailbox(1))
	defer s.Close()
	for range 100 {
		h.Publish(mailbox(1))
	}
	if !woken(s) {
		t.Fatal("no wake-up after 100 publishes")
	}
	if woken(s) {
		t.Fatal("100 publishes left more than one wake-up")
	}
	h.Publish(mailbox(1))
	if !woken(s) {
		t.Fatal("no wake-up for a change after the first was received")
	}
}

func TestHub_Close(t *testing.T) {
	h := notify.New()
	s := h.Subscribe(mailbox(1))
	other := h.Subscribe(mailbox(1))
	defer other.Close()
	s.Close()
	s.Close() // harmless
	h.Publish(mailbox(1))
	if woken(s) {
		t.Error("a closed subscription was woken")
	}
	if !woken(other) {
		t.Error("closing one subscription silenced another of the same mailbox")
	}
}

func TestHub_Nil(t *testing.T) {
	var h *notify.Hub
	h.Publish(mailbox(1))
	s := h.Subscribe(mailbox(1))
	h.Publish(mailbox(1))
	if woken(s) {
		t.Error("a subscription of a nil hub was woken")
	}
	if s.ID() != mailbox(1) {
		t.Errorf("ID() = %s", s.ID())
	}
	s.Close()
}

// TestHub_Concurrent runs publishers against subscribers that come, wait
// for a wake-up and go, with Close racing Publish. Every subscriber that
// stays subscribed while its mailbox is published must wake.
func TestHub_Concurrent(t *testing.T) {
	const (
		mailboxes   = 8
		publishers  = 8
		subscribers = 64
		rounds      = 50
	)
	before := runtime.NumGoroutine()
	h := notify.New()
	stop := make(chan struct{})

	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := p; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Publish(mailbox(i%mailboxes), mailbox((i+1)%mailboxes))
				runtime.Gosched()
			}
		})
	}

	var subs sync.WaitGroup
	for n := range subscribers {
		subs.Go(func() {
			for range rounds {
				s := h.Subscribe(mailbox(n % mailboxes))
				select {
				case <-s.C:
				case <-time.After(5 * time.Second):
					t.Errorf("subscriber of %s never woke", s.ID())
				}
				s.Close()
			}
		})
	}
	subs.Wait()
	close(stop)
	pubs.Wait()

	// The hub starts no goroutines of its own. Those of the test may
	// take a moment to exit after signaling the WaitGroup.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// BenchmarkPublish publishes to a mailbox with 10 subscribers while 1,000
// others idle on other mailboxes: the SMTP committer's cost per copy.
func BenchmarkPublish(b *testing.B) {
	h := notify.New()
	for i := range 1000 {
		defer h.Subscribe(mailbox(1 + i)).Close()
	}
	target := mailbox(0)
	var subs []*notify.Subscription
	for range 10 {
		subs = append(subs, h.Subscribe(target))
	}
	defer func() {
		for _, s := range subs {
			s.Close()
		}
	}()

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Publish(target)
		// Drain now and then, so that both the send and the full-buffer
		// paths are measured.
		if i%2 == 0 {
			for _, s := range subs {
				woken(s)
			}
		}
	}
}

// BenchmarkPublishParallel is BenchmarkPublish from many goroutines, as
// when SMTP and GraphQL publish at once.
func BenchmarkPublishParallel(b *testing.B) {
	h := notify.New()
	for i := range 1000 {
		defer h.Subscribe(mailbox(1 + i)).Close()
	}
	target := mailbox(0)
	for range 10 {
		defer h.Subscribe(target).Close()
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Publish(target)
		}
	})
}

// TestHub_PublishEvents wakes the organization's readers and the readers
// of every log, and no other organization's.
func TestHub_PublishEvents(t *testing.T) {
	h := notify.New()
	a, b, all := h.Subscribe("org_a"), h.Subscribe("org_b"), h.Subscribe(notify.AllEvents)
	defer a.Close()
	defer b.Close()
	defer all.Close()
	h.PublishEvents("org_a")
	if !woken(a) || !woken(all) || woken(b) {
		t.Error("PublishEvents(org_a) must wake org_a and AllEvents only")
	}
	h.PublishEvents()
	if woken(all) {
		t.Error("PublishEvents() with no organization woke AllEvents")
	}
}
