package feed

import (
	"context"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
)

// retryAfter is how long a reader waits after a failed query.
const retryAfter = time.Second

// reader reads one organization's log as it grows and fans the rows out
// to the subscribers that joined it.
type reader struct {
	f    *Feed
	org  pulid.ID
	refs int // guarded by f.mu

	wake *notify.Subscription
	// kick makes the reader look again without a publication: after a
	// join, and after a failed query.
	kick chan struct{}
	done chan struct{}

	mu sync.Mutex
	// head is the seq of the last row read, once known is set: at the
	// first join, from that subscriber's cursor. Until then the reader
	// has no one to read for.
	head  int64
	known bool
	subs  map[*Subscription]struct{}
}

// newReader starts org's reader. It listens to the hub from now on, so
// that every commit after any subscriber's replay snapshot wakes it.
func newReader(f *Feed, org pulid.ID) *reader {
	r := &reader{
		f: f, org: org, wake: f.hub.Subscribe(org),
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		subs: make(map[*Subscription]struct{}),
	}
	go r.run()
	return r
}

func (r *reader) run() {
	defer r.wake.Close()
	for {
		select {
		case <-r.done:
			return
		case <-r.wake.C:
		case <-r.kick:
		}
		if err := r.catchUp(); err != nil {
			r.f.opts.Log.Error("event feed read failed", "tenant_id", r.org, "err", err)
			time.AfterFunc(retryAfter, r.poke)
		}
	}
}

// poke wakes the reader without blocking.
func (r *reader) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// stop ends the reader; the caller holds f.mu.
func (r *reader) stop() { close(r.done) }

// catchUp reads the rows past head and hands each to the subscribers it
// matches, until none are left.
func (r *reader) catchUp() error {
	ctx := rule.SystemContext(context.Background())
	for {
		r.mu.Lock()
		head, known := r.head, r.known
		r.mu.Unlock()
		if !known {
			return nil
		}
		rows, err := r.f.client.Event.Query().
			Where(event.OrganizationID(r.org), event.SeqGT(head)).
			Order(ent.Asc(event.FieldSeq)).
			Limit(r.f.opts.Batch).
			All(ctx)
		if err != nil {
			return err
		}
		r.fanOut(rows)
		if len(rows) < r.f.opts.Batch {
			return nil
		}
	}
}

// fanOut hands rows to the subscribers, never waiting: a subscriber
// whose buffer is full is dropped.
func (r *reader) fanOut(rows []*ent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, row := range rows {
		e := FromRow(row)
		for s := range r.subs {
			if e.Seq <= s.cursor || !s.filter.match(e) {
				continue
			}
			select {
			case s.c <- e:
				s.cursor = e.Seq
			default:
				r.endLocked(s, ErrSlowConsumer)
			}
		}
	}
	if len(rows) > 0 {
		r.head = rows[len(rows)-1].Seq
	}
}

// join adds s, whose replay reached s.cursor, unless the reader has read
// past it already (rows s would miss); then s must replay again.
func (r *reader) join(s *Subscription) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known && r.head > s.cursor {
		return false
	}
	if !r.known {
		r.head, r.known = s.cursor, true
	}
	r.subs[s] = struct{}{}
	// Rows that committed after s's snapshot may have woken the reader
	// before it knew where to start.
	r.poke()
	return true
}

// end removes s and closes its channel, once, with err as its reason.
func (r *reader) end(s *Subscription, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endLocked(s, err)
}

func (r *reader) endLocked(s *Subscription, err error) {
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	delete(r.subs, s)
	close(s.c)
}
