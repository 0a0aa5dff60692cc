package notify

import (
	"sync"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Hub delivers wake-ups from publishers to the subscribers of an id. Its
// methods are safe for concurrent use, and Publish never blocks. A nil
// *Hub is valid: Publish does nothing and Subscribe returns a
// subscription that never wakes, so a package can take an optional hub.
//
// Each subscription costs one channel of capacity 1 and one slot in a
// slice, so thousands of idle sessions take little memory; Publish does
// one map lookup per id and one non-blocking send per subscriber of it.
type Hub struct {
	// mu guards subs. Publish holds it for reading only, so publishers
	// run in parallel; channel sends need no further lock.
	mu   sync.RWMutex
	subs map[pulid.ID][]*Subscription
}

// New returns an empty hub.
func New() *Hub {
	return &Hub{subs: make(map[pulid.ID][]*Subscription)}
}

// Subscription is one subscriber's interest in one id.
type Subscription struct {
	// C has a value when the id changed since the subscriber last
	// received from it. Wake-ups coalesce: any number of changes while
	// one is pending leave exactly one. C is never closed.
	C <-chan struct{}

	c   chan struct{}
	hub *Hub
	id  pulid.ID
	// i is the index of the subscription in hub.subs[id], or -1 once it
	// is closed. It is guarded by hub.mu.
	i int
}

// Subscribe registers interest in id. The caller must Close the
// subscription when it stops listening, or it stays in the hub.
func (h *Hub) Subscribe(id pulid.ID) *Subscription {
	c := make(chan struct{}, 1)
	s := &Subscription{C: c, c: c, hub: h, id: id, i: -1}
	if h == nil {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.i = len(h.subs[id])
	h.subs[id] = append(h.subs[id], s)
	return s
}

// Publish wakes every subscriber of each of ids. It never blocks: a
// subscriber that has a wake-up pending already is left as it is.
func (h *Hub) Publish(ids ...pulid.ID) {
	if h == nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, id := range ids {
		for _, s := range h.subs[id] {
			select {
			case s.c <- struct{}{}:
			default:
			}
		}
	}
}

// ID returns the id the subscription listens to.
func (s *Subscription) ID() pulid.ID { return s.id }

// Close removes the subscription from its hub. No wake-up arrives on C
// afterwards, but one sent before Close may still be pending there.
// Calling Close again does nothing.
func (s *Subscription) Close() {
	h := s.hub
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.i < 0 {
		return
	}

	// Swap the last subscription into s's slot, so that removal costs
	// the same however many share the id.
	subs := h.subs[s.id]
	last := len(subs) - 1
	subs[s.i] = subs[last]
	subs[s.i].i = s.i
	subs[last] = nil
	if last == 0 {
		delete(h.subs, s.id)
	} else {
		h.subs[s.id] = subs[:last]
	}
	s.i = -1
}

// AllEvents is the key that every append to any organization's event log
// publishes, beside the organization's own id: the webhook dispatcher,
// which serves every tenant, subscribes to it.
const AllEvents pulid.ID = "evt_all"

// PublishEvents tells the readers of org's event log (subscriptions,
// webhooks) that events were committed to it: it publishes org's id, which
// no mailbox shares, and AllEvents.
func (h *Hub) PublishEvents(orgs ...pulid.ID) {
	if len(orgs) == 0 {
		return
	}
	h.Publish(append(orgs, AllEvents)...)
}
