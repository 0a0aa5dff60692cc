package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// logged is an event of the measured window as the database holds it.
type logged struct {
	typ     string
	created int64 // created_at on the run's clock
	send    *send // the sendEmail of a message.queued event
}

// latencies are the samples of one kind, in ns.
type latencies []int64

func (l latencies) line(name string) string {
	if len(l) == 0 {
		return fmt.Sprintf("| %s | 0 | | | | |", name)
	}
	slices.Sort(l)
	ms := func(v int64) string { return fmt.Sprintf("%.2f", float64(v)/1e6) }
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s |", name, len(l),
		ms(l[len(l)*50/100]), ms(l[len(l)*90/100]), ms(l[len(l)*99/100]), ms(l[len(l)-1]))
}

// events reads the events created in the measured window or after it
// (the drain), after the server stopped: the ground truth that every
// subscriber is checked against.
func (m *measurement) events(path string) (map[int64]*logged, error) {
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.Close() }()
	rows, err := d.Client.Event.Query().
		Where(event.CreatedAtGTE(m.clock.Add(time.Duration(m.start)))).All(ctx)
	if err != nil {
		return nil, err
	}
	sends := map[string]*send{}
	for i := range m.gen.sends {
		sends[m.gen.sends[i].id] = &m.gen.sends[i]
	}
	out := make(map[int64]*logged, len(rows))
	for _, e := range rows {
		l := &logged{typ: e.Type, created: e.CreatedAt.Sub(m.clock).Nanoseconds()}
		if e.Type == "message.queued" {
			l.send = sends[string(e.MessageID)]
		}
		out[e.Seq] = l
	}
	return out, nil
}

// report checks every subscriber against the log and prints the figures.
func (m *measurement) report(o options, path string) error {
	evs, err := m.events(path)
	if err != nil {
		return err
	}
	byType := map[string]latencies{}
	var all, lower, upper latencies
	var missing, late, dups, ended int
	var short []int
	for i, s := range m.subs {
		seen := make(map[int64]bool, len(evs))
		for _, r := range s.got {
			e := evs[r.seq]
			if e == nil {
				continue // the barrier and the warm-up
			}
			if seen[r.seq] {
				dups++
				continue
			}
			seen[r.seq] = true
			d := r.at - e.created
			all = append(all, d)
			byType[e.typ] = append(byType[e.typ], d)
			if e.send != nil {
				lower = append(lower, r.at-e.send.end)
				upper = append(upper, r.at-e.send.start)
			}
		}
		// The reader hands each subscriber the rows in seq order, so an
		// event below the last one it got that it lacks is lost; the
		// events above it were still on their way when listening stopped.
		last := s.last.Load()
		for seq := range evs {
			switch {
			case seen[seq]:
			case seq < last:
				missing++
				if len(short) == 0 || short[len(short)-1] != i {
					short = append(short, i)
				}
			default:
				late++
			}
		}
		if s.err != nil {
			ended++
		}
	}
	m.print(o, evs, all, lower, upper, byType)
	fmt.Printf("\nEvents in the window and the drain: %d; deliveries expected %d, received %d.\n",
		len(evs), len(evs)*len(m.subs), len(all))
	fmt.Printf("Lost (a gap below a subscriber's last event): %d in %d subscribers; duplicates %d; "+
		"streams ended early %d; not yet received when listening stopped: %d.\n",
		missing, len(short), dups, ended, late)
	for _, i := range short[:min(len(short), 3)] {
		fmt.Printf("  subscriber %d: %d events, ended: %v\n", i, len(m.subs[i].got), m.subs[i].err)
	}
	return nil
}

func (m *measurement) print(o options, evs map[int64]*logged, all, lower, upper latencies,
	byType map[string]latencies) {
	window := time.Duration(m.end - m.start)
	var mut latencies
	var sends int
	for _, s := range m.gen.sends {
		if s.start >= m.start && s.start < m.end {
			sends++
			mut = append(mut, s.end-s.start)
		}
	}
	srvCPU := m.server1.CPU - m.server0.CPU
	cliCPU := m.client1 - m.client0
	fmt.Printf("subscribers=%d rate=%.0f events/s (%.1f sendEmail/s) window=%v warmup=%v cpus=%d\n",
		o.subs, o.eventsPerSec, o.eventsPerSec/float64(o.perSend), window.Round(time.Millisecond), o.warmup, m.cpus)
	fmt.Printf("load average: %s before, %s at the end of the window; some task (ours too) waited for a CPU "+
		"%.0f%% of the window (/proc/pressure/cpu)\n", m.loadBefore, m.load,
		100*float64(m.psi1-m.psi0)/float64(window))
	fmt.Printf("sendEmail: %d in the window (%.1f/s), %d failed; events committed in window+drain: %d "+
		"(%.1f/s over the window)\n", sends, float64(sends)/window.Seconds(), m.gen.failed.Load(), len(evs),
		float64(len(evs))/window.Seconds())
	if m.gen.firstErr != nil {
		fmt.Printf("first sendEmail failure: %v\n", m.gen.firstErr)
	}
	fmt.Printf("drained: %v in %v\n", m.drained, m.drainTime.Round(time.Millisecond))
	fmt.Printf("lightr: %.1f CPU s in the window (%.0f%% of one core), peak RSS %.0f MiB in the window, "+
		"VmHWM %.0f MiB\n", srvCPU.Seconds(), 100*srvCPU.Seconds()/window.Seconds(),
		float64(m.peakRSS)/(1<<20), float64(m.serverHWMAfterLoad)/(1<<20))
	fmt.Printf("client (subscribers + generator, same machine): %.1f CPU s in the window (%.0f%% of one core)\n",
		cliCPU.Seconds(), 100*cliCPU.Seconds()/window.Seconds())
	fmt.Println()
	fmt.Println("| Latency (ms) | Deliveries | p50 | p90 | p99 | Max |")
	fmt.Println("|---|--:|--:|--:|--:|--:|")
	fmt.Println(all.line("received − created_at, all events"))
	for _, t := range []string{"message.queued", "message.received", "message.delivered"} {
		fmt.Println(byType[t].line("received − created_at, " + t))
	}
	fmt.Println(lower.line("queued: received − response read (lower bound)"))
	fmt.Println(upper.line("queued: received − request sent (upper bound)"))
	fmt.Println(mut.line("sendEmail round trip"))
}
