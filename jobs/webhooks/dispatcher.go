package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/batch"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/notify"
)

// Options configure a Dispatcher.
type Options struct {
	// Policy decides which addresses deliveries may connect to.
	Policy Policy
	// Workers is the most deliveries in flight at once; zero means 8.
	Workers int
	// Timeout bounds one attempt, connection included; zero means 15s.
	Timeout time.Duration
	// Schedule gives the delays between attempts (with queue.Jitter);
	// nil means DefaultSchedule.
	Schedule queue.Schedule
	// MaxAttempts is the most attempts of one delivery; zero means 20.
	MaxAttempts int
	// MaxAge is how long after it was queued a delivery is given up;
	// zero means 72 hours.
	MaxAge time.Duration
	// DisableAfterFailures consecutive failed attempts of an endpoint,
	// over at least DisableAfter, disable it; zero means 20.
	DisableAfterFailures int
	DisableAfter         time.Duration
	// PollInterval is how often the event log and the due deliveries are
	// read without a wake-up; zero means 5 seconds.
	PollInterval time.Duration
	// Lease is how long a claimed delivery is held; zero means a minute,
	// and it is never shorter than twice Timeout.
	Lease time.Duration
	// Node names this process among those sharing the database, for the
	// lease owners (as sender.Options.Node); empty means the host name.
	Node string
	// Notify wakes the dispatcher (notify.AllEvents) and hears of the
	// webhook.disabled events it appends.
	Notify *notify.Hub
	// Log gets a line per attempt; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Client overrides the HTTP client built from Policy and Timeout;
	// tests use it.
	Client *http.Client
}

// DefaultSchedule is the retry schedule used when none is configured.
var DefaultSchedule = queue.Schedule{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
}

// Dispatcher fans events out into deliveries and runs the workers that
// send them. Create it with New and start Run.
type Dispatcher struct {
	opts  Options
	db    *ent.Client
	http  *http.Client
	log   *slog.Logger
	owner string
	wake  chan struct{}
	ready chan struct{}              // new deliveries were queued
	rec   *batch.Committer[*attempt] // set by Run

	mu     sync.Mutex
	active int
	stats  Stats
}

// Stats count a Dispatcher's work since New: deliveries queued, attempts
// that delivered and attempts that failed, and endpoints disabled.
type Stats struct {
	Queued, Delivered, Failed, Disabled uint64
}

// New returns a Dispatcher over client.
func New(client *ent.Client, o Options) *Dispatcher {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 72 * time.Hour
	}
	if o.DisableAfterFailures <= 0 {
		o.DisableAfterFailures = 20
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	o.Lease = max(o.Lease, time.Minute, 2*o.Timeout)
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	hc := o.Client
	if hc == nil {
		hc = NewHTTPClient(o.Policy, o.Timeout)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Dispatcher{
		opts:  o,
		db:    client,
		http:  hc,
		log:   o.Log.With("component", "webhooks"),
		owner: fmt.Sprintf("%s/%d-%s", o.Node, os.Getpid(), hex.EncodeToString(b[:])),
		wake:  make(chan struct{}, 1),
		ready: make(chan struct{}, 1),
	}
}

// Wake makes Run read the event log now. It never blocks.
func (d *Dispatcher) Wake() { signal(d.wake) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Stats returns the counters so far.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Run fans out events and delivers them until ctx ends, then waits for
// the attempts in flight, which the HTTP timeout bounds.
func (d *Dispatcher) Run(ctx context.Context) error {
	sys := rule.SystemContext(ctx)
	if n, err := recoverLeases(sys, d.db, d.opts.Node, d.owner); err != nil {
		d.log.Error("recover leases", "err", err)
	} else if n > 0 {
		d.log.Warn("recovered deliveries a previous run left in flight", "deliveries", n)
	}

	sub := d.opts.Notify.Subscribe(notify.AllEvents)
	defer sub.Close()
	d.rec = d.startRecorder()
	defer d.rec.Stop() // after wg.Wait below: the workers record to the end
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, d.opts.Workers)
	tick := time.NewTicker(d.opts.PollInterval)
	defer tick.Stop()

	// A claim waits until a quarter of the workers are free (or none is
	// busy), so that one claim transaction serves several deliveries.
	batch := max(1, d.opts.Workers/4)
	fan, more := true, true
	for {
		if fan && ctx.Err() == nil {
			fan = d.fanOutAll(sys)
			more = true
		}
		d.mu.Lock()
		free, active := d.opts.Workers-d.active, d.active
		d.mu.Unlock()
		if more && ctx.Err() == nil && free > 0 && (free >= batch || active == 0) {
			more = d.claim(sys, &wg, done)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			d.mu.Lock()
			d.active--
			d.mu.Unlock()
			more = true // its slot is free, and retries may have come due
		case <-sub.C:
			fan = true
		case <-d.wake:
			fan = true
		case <-d.ready:
			more = true
		case <-tick.C:
			fan = true
		}
	}
}

// fanOutAll queues the new events of every endpoint, batch by batch, and
// reports whether more may be waiting.
func (d *Dispatcher) fanOutAll(ctx context.Context) bool {
	n, more, err := fanOut(ctx, d.db)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("queue deliveries", "err", err)
		}
		return false
	}
	if n > 0 {
		d.mu.Lock()
		d.stats.Queued += uint64(n)
		d.mu.Unlock()
	}
	return more
}

// claim leases deliveries for the free workers and starts them. It
// reports whether every free worker got one.
func (d *Dispatcher) claim(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}) bool {
	d.mu.Lock()
	free := d.opts.Workers - d.active
	d.mu.Unlock()
	if free <= 0 {
		return false
	}
	jobs, err := claim(ctx, d.db, d.owner, d.opts.Now(), d.opts.Lease, free)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("claim deliveries", "err", err)
		}
		return false
	}
	d.mu.Lock()
	d.active += len(jobs)
	d.mu.Unlock()
	for _, j := range jobs {
		wg.Go(func() {
			d.deliver(ctx, j)
			done <- struct{}{}
		})
	}
	return len(jobs) == free
}
