package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/batch"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
)

// Options configure a Sender.
type Options struct {
	// Workers is the most units in flight at once; zero means 32.
	Workers int
	// PerDomain is the most units of one destination domain in flight at
	// once, over every process; zero means no limit.
	PerDomain int
	// Lease is how long a claim holds a unit; it must exceed the longest
	// delivery. Zero means 15 minutes.
	Lease time.Duration
	// PollInterval is how often Run looks for units that became due; zero
	// means 5 seconds.
	PollInterval time.Duration
	// Grace is how long units in flight may finish after Run's context
	// ended; zero means 10 seconds.
	Grace time.Duration
	// Policy is the retry schedule and maximum age, passed to Complete.
	// Its OnFailures is Sender's own.
	Policy queue.Policy

	// Remote sends to mail exchangers, and Smarthost, when set, sends the
	// mail of the sending domains UseSmarthost accepts (all of them when
	// UseSmarthost is nil).
	Remote       *outbound.Client
	Smarthost    *outbound.Client
	UseSmarthost func(senderDomain string) bool

	// Domains reads the sending domains (keys, tracking host); nil means
	// a cache of the Sender's own.
	Domains *outbox.DomainCache

	// Local stores the mail of hosted domains.
	Local *delivery.Deliverer
	// Tracking rewrites the HTML of tracked messages before signing.
	Tracking Tracking
	// Parse bounds the parsing of locally delivered messages.
	Parse message.Limits

	// Hostname is this server's name, for the Reporting-MTA of bounces.
	Hostname string
	// Node names this process among those sharing the database; empty
	// means the host name. Its leases are "node/random", and Run frees
	// the leases an earlier run of the same node left behind (a crash),
	// so two running processes must never share a node name.
	Node string
	// Notify hears of the events each recorded outcome appended, after
	// its commit; nil tells no one.
	Notify *notify.Hub
	// Log receives a line per attempt; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
}

// Sender runs the outbound workers. Create it with New, start Run, and
// call Wake after committing newly queued mail.
type Sender struct {
	opts   Options
	client *ent.Client
	store  *store.Store
	log    *slog.Logger
	wake   chan struct{}
	// domains has the sending domains' keys and tracking hosts.
	domains *outbox.DomainCache
	hosted  *hostedCache
	owner   string
	rec     *batch.Committer[*queue.Outcome] // set by Run

	mu     sync.Mutex
	stats  Stats
	active int
}

// Stats count a Sender's work since New.
type Stats struct {
	// Claimed counts units claimed; Delivered, Deferred, Bounced and
	// Failed count recipient outcomes; Released counts units given back at
	// shutdown and LeaseLost units whose lease had expired when they
	// finished.
	Claimed, Delivered, Deferred, Bounced, Failed, Released, LeaseLost uint64
	// Bounces counts the notifications queued.
	Bounces uint64
	// Signed counts the copies the workers DKIM-signed as they sent them;
	// mail signed as it was queued and sent with that signature is not
	// counted.
	Signed uint64
}

// New returns a Sender over client, loading raw messages through st.
func New(client *ent.Client, st *store.Store, o Options) (*Sender, error) {
	if o.Remote == nil && o.Smarthost == nil {
		return nil, fmt.Errorf("sender: an outbound client is required")
	}
	if o.Local == nil {
		return nil, fmt.Errorf("sender: a local deliverer is required")
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Lease <= 0 {
		o.Lease = 15 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if st == nil {
		st = store.New()
	}
	if o.Domains == nil {
		o.Domains = outbox.NewDomainCache(client, 0)
	}
	s := &Sender{
		opts:    o,
		client:  client,
		store:   st,
		log:     o.Log.With("component", "sender"),
		wake:    make(chan struct{}, 1),
		domains: o.Domains,
		hosted:  newHostedCache(hostedTTL),
		owner:   newOwner(o.Node),
	}
	s.opts.Policy.OnFailures = s.queueBounces
	return s, nil
}

// newOwner is "node/pid-random": unique per run, and readable in the
// lease_owner column.
func newOwner(node string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d-%s", node, os.Getpid(), hex.EncodeToString(b[:]))
}

// Wake makes Run claim due units now rather than at its next poll. It
// never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters so far.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Run claims and sends units until ctx ends, then waits for the units in
// flight (see the package documentation) and returns nil.
func (s *Sender) Run(ctx context.Context) error {
	// Deliveries outlive ctx by the grace period.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(s.opts.Grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	if n, err := queue.Recover(rule.SystemContext(ctx), s.client, s.opts.Node, s.owner); err != nil {
		s.log.Error("recover leases", "err", err)
	} else if n > 0 {
		s.log.Warn("recovered deliveries a previous run left in flight", "recipients", n)
	}

	s.rec = s.startRecorder()
	defer s.rec.Stop() // after wg.Wait below: the workers use it to the end

	var wg sync.WaitGroup
	done := make(chan struct{}, s.opts.Workers)
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()

	// Units are claimed ahead of the workers, up to three times their
	// number in hand, by one claim at a time running beside this loop, so
	// that one claim transaction serves many units and the workers never
	// wait for it while units are in hand; the ones not yet started are
	// released when Run stops. backlog: the last claim got all it asked
	// for, so more may be due; kick: new mail was queued, the poll interval
	// passed, or a unit finished, which may lift the per-domain cap that
	// held others back.
	var ready []queue.Unit
	defer func() { s.releaseAll(ready) }()
	claimed := make(chan claimResult, 1)
	claiming := false
	inHand := 3 * s.opts.Workers
	backlog, kick := true, false
	for {
		free, active := s.occupancy()
		for ; free > 0 && len(ready) > 0; ready = ready[1:] {
			if u := ready[0]; u.LeaseUntil.Sub(s.opts.Now()) < s.opts.Lease/2 {
				// Waited too long in hand: its lease might run out
				// before a slow delivery ends. Claim it afresh later.
				s.releaseAll([]queue.Unit{u})
				continue
			}
			s.start(work, &wg, done, ready[0])
			active++
			free--
		}
		want := inHand - active - len(ready)
		if !claiming && ctx.Err() == nil && (backlog || kick) &&
			(want >= s.opts.Workers || active == 0 && len(ready) == 0) {
			claiming, kick = true, false
			go func() {
				units, more := s.claim(ctx, want)
				claimed <- claimResult{units, more}
			}()
		}
		select {
		case <-ctx.Done():
			if claiming {
				r := <-claimed
				s.releaseAll(r.units)
			}
			wg.Wait()
			return nil
		case r := <-claimed:
			claiming = false
			ready = append(ready, r.units...)
			backlog = r.more
		case <-done:
			s.mu.Lock()
			s.active--
			s.mu.Unlock()
			kick = true
		case <-s.wake:
			kick = true
		case <-tick.C:
			kick = true
		}
	}
}

// claimResult is what a claim running beside Run's loop hands back.
type claimResult struct {
	units []queue.Unit
	more  bool
}

// occupancy returns the number of free and of busy workers.
func (s *Sender) occupancy() (free, active int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Workers - s.active, s.active
}

// claim leases up to n units. It reports whether it got n, in which
// case more may be due.
func (s *Sender) claim(ctx context.Context, n int) ([]queue.Unit, bool) {
	units, err := queue.Claim(rule.SystemContext(ctx), s.client, s.owner, s.opts.Now(), s.opts.Lease,
		n, s.opts.PerDomain)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("claim", "err", err)
		}
		return nil, false
	}
	s.count(func(st *Stats) { st.Claimed += uint64(len(units)) })
	return units, len(units) == n
}

// start sends u on a worker of its own.
func (s *Sender) start(work context.Context, wg *sync.WaitGroup, done chan<- struct{}, u queue.Unit) {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.send(work, &u)
		done <- struct{}{}
	}()
}

// releaseAll gives back units claimed but never started.
func (s *Sender) releaseAll(units []queue.Unit) {
	ctx := rule.SystemContext(context.Background())
	for i := range units {
		s.release(ctx, &units[i], s.log)
	}
}
