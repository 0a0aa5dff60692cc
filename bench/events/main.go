// Command events measures the latency of the events subscription from
// commit to subscriber (issue 6): it starts the real `lightr serve` on
// loopback, opens N WebSocket subscribers (graphql-transport-ws, one
// connection each), commits events at a fixed rate through the GraphQL
// sendEmail mutation and records when every subscriber got every event.
// Run it with run.sh; README.md says what is measured and
// docs/PERFORMANCE.md has the figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// options are the command's flags.
type options struct {
	lightr       string
	subs         int
	eventsPerSec float64
	perSend      int
	warmup, dur  time.Duration
	query        string
	keep         bool
	profserve    string
	cpuprofile   string
}

func main() {
	var o options
	flag.StringVar(&o.lightr, "lightr", "bin/lightr", "the lightr binary")
	flag.IntVar(&o.subs, "subs", 1000, "subscribers, one WebSocket each")
	flag.Float64Var(&o.eventsPerSec, "rate", 100, "events committed per second")
	flag.IntVar(&o.perSend, "events-per-send", 3,
		"events one sendEmail to a local recipient commits (queued, received, delivered)")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before the measured window")
	flag.DurationVar(&o.dur, "d", 60*time.Second, "measured window")
	flag.StringVar(&o.query, "query", "subscription { events { id cursor type messageId recipient createdAt } }",
		"the subscription each subscriber runs")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data, serve.log)")
	flag.StringVar(&o.profserve, "profserve", "",
		"run this build of bench/smtpaccept/profserve instead of lightr serve (a diagnostic)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "events.pprof", "with -profserve, where the CPU profile goes")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "lightr-bench-events")
	if err != nil {
		return err
	}
	if o.keep {
		log.Printf("keeping %s", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	bin, err := filepath.Abs(o.lightr)
	if err != nil {
		return err
	}
	srv, err := setup(bin, dir)
	if err != nil {
		return err
	}
	if o.profserve != "" {
		if srv.profserve, err = filepath.Abs(o.profserve); err != nil {
			return err
		}
		if srv.profile, err = filepath.Abs(o.cpuprofile); err != nil {
			return err
		}
	}
	if err := srv.start(o.subs); err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.stop()
		}
	}()

	m, err := measure(o, srv)
	if err != nil {
		return err
	}
	stopped = true
	if err := srv.stop(); err != nil {
		return fmt.Errorf("stop lightr: %w", err)
	}
	return m.report(o, filepath.Join(dir, "data", "lightr.db"))
}

// measurement is what one run gathered, for the report.
type measurement struct {
	clock              time.Time
	subs               []*subscriber
	gen                *generator
	start, end         int64 // the measured window on the clock
	loadBefore, load   string
	server0, server1   procStat
	peakRSS            int64
	client0, client1   time.Duration
	psi0, psi1         time.Duration
	drained            bool
	drainTime          time.Duration
	goroutines, cpus   int
	serverHWMAfterLoad int64
}

// measure subscribes, waits until every subscriber is live, then loads
// the server for the warm-up and the measured window and drains.
func measure(o options, srv *server) (*measurement, error) {
	m := &measurement{clock: time.Now(), loadBefore: loadAvg(), cpus: runtime.NumCPU()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := time.Now()
	subs, err := subscribeAll(ctx, o.subs, srv.addr, srv.token, o.query, m.clock)
	if err != nil {
		return nil, err
	}
	m.subs = subs
	log.Printf("%d subscribers connected in %v", len(subs), time.Since(t).Round(time.Millisecond))

	// A subscription without a cursor starts "from now on" once it joined
	// the organization's reader; one event that reached everyone shows
	// that all have joined.
	m.gen = newGenerator(srv.addr, srv.token, m.clock)
	if err := m.barrier(ctx); err != nil {
		return nil, err
	}

	rate := o.eventsPerSec / float64(o.perSend)
	log.Printf("warm-up %v at %.1f sends/s", o.warmup, rate)
	m.gen.run(ctx, rate, o.warmup)

	pid := srv.cmd.Process.Pid
	m.server0, _ = readProc(pid)
	m.client0, m.psi0 = selfCPU(), cpuPressure()
	m.start = time.Since(m.clock).Nanoseconds()
	sampling, sampled := make(chan struct{}), make(chan struct{})
	go func() { m.sampleRSS(pid, sampling); close(sampled) }()
	log.Printf("measuring %v at %.1f sends/s (%.0f events/s)", o.dur, rate, o.eventsPerSec)
	m.gen.run(ctx, rate, o.dur)
	m.end = time.Since(m.clock).Nanoseconds()
	m.server1, _ = readProc(pid)
	m.client1, m.psi1 = selfCPU(), cpuPressure()
	m.load = loadAvg()

	t = time.Now()
	m.drained = m.drain(90 * time.Second)
	m.drainTime = time.Since(t)
	close(sampling)
	<-sampled
	last, _ := readProc(pid)
	m.serverHWMAfterLoad = last.HWM
	m.goroutines = runtime.NumGoroutine()
	cancel()
	for _, s := range subs {
		<-s.done
		_ = s.conn.CloseNow()
	}
	return m, nil
}

// barrier sends one message a second until every subscriber got an event.
func (m *measurement) barrier(ctx context.Context) error {
	for range 30 {
		if err := m.gen.one(ctx, -1); err != nil {
			return err
		}
		time.Sleep(time.Second)
		ready := 0
		for _, s := range m.subs {
			if s.count.Load() > 0 {
				ready++
			}
			if s.err != nil {
				return fmt.Errorf("subscriber ended: %w", s.err)
			}
		}
		if ready == len(m.subs) {
			return nil
		}
		log.Printf("%d of %d subscribers live", ready, len(m.subs))
	}
	return fmt.Errorf("not every subscriber got an event within 30 s")
}

// drain waits until every subscriber has the same last event and nothing
// new arrived for 3 s: the workers deliver the last messages after the
// generator stopped, and their events follow.
func (m *measurement) drain(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	var prev int64
	quiet := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		var total int64
		lo, hi := int64(1<<62), int64(0)
		for _, s := range m.subs {
			total += s.count.Load()
			l := s.last.Load()
			lo, hi = min(lo, l), max(hi, l)
		}
		if total != prev || lo != hi {
			prev, quiet = total, time.Now()
			continue
		}
		if time.Since(quiet) >= 3*time.Second {
			return true
		}
	}
	return false
}

func (m *measurement) sampleRSS(pid int, stop <-chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if p, err := readProc(pid); err == nil {
				m.peakRSS = max(m.peakRSS, p.RSS)
			}
		}
	}
}
