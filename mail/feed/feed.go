package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/predicate"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
)

// Defaults of Options.
const (
	DefaultBuffer    = 256
	DefaultMaxPerOrg = 1000
	DefaultBatch     = 500
)

var (
	// ErrSlowConsumer ends a subscription whose buffer was full when an
	// event arrived.
	ErrSlowConsumer = errors.New("feed: subscriber too slow, dropped; resubscribe from the last cursor")
	// ErrTooMany refuses a subscription past Options.MaxPerOrg.
	ErrTooMany = errors.New("feed: too many subscriptions for this organization")
	// ErrCursor refuses a cursor that no event ever had.
	ErrCursor = errors.New("feed: invalid cursor")
)

// Options configure a Feed.
type Options struct {
	// Buffer is how many events a subscriber may fall behind before it
	// is dropped; 0 means DefaultBuffer.
	Buffer int
	// MaxPerOrg bounds the subscriptions of one organization; 0 means
	// DefaultMaxPerOrg.
	MaxPerOrg int
	// Batch is the most rows one query reads; 0 means DefaultBatch.
	Batch int
	// Log receives the errors of the readers' queries.
	Log *slog.Logger
}

// Filter narrows a subscription. Zero fields match everything.
type Filter struct {
	Types                    []string
	Domain, Account, Message pulid.ID
}

func (f *Filter) match(e *Event) bool {
	return (len(f.Types) == 0 || slices.Contains(f.Types, e.Type)) &&
		is(e.DomainID, f.Domain) && is(e.AccountID, f.Account) && is(e.MessageID, f.Message)
}

// is reports whether id is want, or want is empty.
func is(id *pulid.ID, want pulid.ID) bool {
	return want == "" || id != nil && *id == want
}

func (f *Filter) where() []predicate.Event {
	var ps []predicate.Event
	if len(f.Types) > 0 {
		ps = append(ps, event.TypeIn(f.Types...))
	}
	if f.Domain != "" {
		ps = append(ps, event.DomainID(f.Domain))
	}
	if f.Account != "" {
		ps = append(ps, event.AccountID(f.Account))
	}
	if f.Message != "" {
		ps = append(ps, event.MessageID(f.Message))
	}
	return ps
}

// Feed hands the events of organizations to their subscribers. Its
// methods are safe for concurrent use.
type Feed struct {
	client *ent.Client
	hub    *notify.Hub
	opts   Options
	// ctx ends every subscription at Close.
	ctx   context.Context
	close context.CancelFunc

	mu   sync.Mutex // guards orgs
	orgs map[pulid.ID]*reader
}

// New returns a feed that reads c's events table and wakes up on hub's
// PublishEvents.
func New(c *ent.Client, hub *notify.Hub, o Options) *Feed {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.MaxPerOrg <= 0 {
		o.MaxPerOrg = DefaultMaxPerOrg
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Feed{client: c, hub: hub, opts: o, ctx: ctx, close: cancel, orgs: make(map[pulid.ID]*reader)}
}

// Close ends every subscription, as if the subscribers had left; their
// channels close without an error.
func (f *Feed) Close() { f.close() }

// Subscription is one subscriber's stream of events.
type Subscription struct {
	// C yields the events in log order. It is closed when the
	// subscription ends: its context ended, the feed closed, or Err.
	C <-chan *Event

	c      chan *Event
	r      *reader
	filter Filter
	// cursor is the seq of the last event handed to C (or replayed past).
	// After join it is guarded by r.mu.
	cursor int64
	// closed and err are guarded by r.mu until C is closed.
	closed bool
	err    error
}

// Err reports why the subscription ended early, once C is closed: nil
// when its context ended (or C is still open), ErrSlowConsumer, or a
// database error.
func (s *Subscription) Err() error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.err
}

// Subscribe starts a subscription to org's events that match filter: the
// stored ones after cursor after, then the new ones as they commit. A nil
// after means from now on. ctx is read with the caller's viewer for the
// replay, so the privacy rules confine it too; the subscription ends with
// ctx.
func (f *Feed) Subscribe(ctx context.Context, org pulid.ID, after *int64, filter Filter) (*Subscription, error) {
	r, err := f.acquire(org)
	if err != nil {
		return nil, err
	}
	cursor := int64(0)
	if after != nil {
		cursor = *after
	} else if cursor, err = LastSeq(ctx, f.client, org); err != nil {
		f.release(r)
		return nil, err
	}
	ch := make(chan *Event, f.opts.Buffer)
	s := &Subscription{C: ch, c: ch, r: r, filter: filter, cursor: cursor}
	ctx, stop := context.WithCancel(ctx)
	stopWithFeed := context.AfterFunc(f.ctx, stop)
	go func() {
		defer stop()
		defer stopWithFeed()
		defer f.release(r)
		if err := s.replay(ctx, f); err != nil {
			if ctx.Err() != nil {
				err = nil
			}
			r.end(s, err)
			return
		}
		<-ctx.Done()
		r.end(s, nil)
	}()
	return s, nil
}

// replay sends s the stored events after its cursor, then joins the
// reader once nothing is left that the reader has read past.
func (s *Subscription) replay(ctx context.Context, f *Feed) error {
	org := s.r.org
	for {
		top, err := LastSeq(ctx, f.client, org)
		if err != nil {
			return err
		}
		for s.cursor < top {
			rows, err := f.client.Event.Query().
				Where(event.OrganizationID(org), event.SeqGT(s.cursor), event.SeqLTE(top)).
				Where(s.filter.where()...).
				Order(ent.Asc(event.FieldSeq)).
				Limit(f.opts.Batch).
				All(ctx)
			if err != nil {
				return fmt.Errorf("feed: replay: %w", err)
			}
			for _, e := range rows {
				select {
				case s.c <- FromRow(e):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if len(rows) < f.opts.Batch {
				s.cursor = top
				break
			}
			s.cursor = rows[len(rows)-1].Seq
		}
		if s.r.join(s) {
			return nil
		}
	}
}

// LastSeq returns the seq of org's last committed event, 0 for none: the
// cursor of the log's end, where a new subscriber or webhook starts.
func LastSeq(ctx context.Context, c *ent.Client, org pulid.ID) (int64, error) {
	e, err := c.Event.Query().
		Where(event.OrganizationID(org)).
		Order(ent.Desc(event.FieldSeq)).
		Select(event.FieldSeq).
		First(rule.SystemContext(ctx))
	switch {
	case ent.IsNotFound(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("feed: last event: %w", err)
	}
	return e.Seq, nil
}

// acquire returns org's reader, starting it for the first subscriber.
func (f *Feed) acquire(org pulid.ID) (*reader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.orgs[org]
	if r == nil {
		r = newReader(f, org)
		f.orgs[org] = r
	}
	if r.refs >= f.opts.MaxPerOrg {
		return nil, ErrTooMany
	}
	r.refs++
	return r, nil
}

// release undoes acquire and stops the reader after its last subscriber.
func (f *Feed) release(r *reader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.refs--
	if r.refs == 0 {
		delete(f.orgs, r.org)
		r.stop()
	}
}
