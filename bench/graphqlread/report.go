package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	command   string
	revision  string
	opts      options
	machine   string
	bodies    map[string]int // response body bytes by target
	phases    []*phase       // in the order run
	allocs    map[string]allocs
	wrk       []*wrkResult
	plan      []string
	countPlan []string
	// loadBefore and loadAfter are /proc/loadavg around the measurements:
	// other work on the machine shows up there, and in the figures.
	loadBefore, loadAfter string
}

// loadAvg returns the 1, 5 and 15 minute load averages, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the host for the report.
func machine(ctx context.Context, db *sql.DB) string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	var version string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		version = "?"
	}
	return fmt.Sprintf("%d cores (%s), GOMAXPROCS %d, %s %s/%s, SQLite %s (modernc.org/sqlite)",
		runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version(),
		runtime.GOOS, runtime.GOARCH, version)
}

// revision names the code measured: the git commit, marked dirty when the
// working tree has changes, or "unknown" outside a git checkout.
func revision(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// explain returns SQLite's plan for query.
func explain(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// write prints the results as Markdown, ready for docs/PERFORMANCE.md.
func (r *results) write(w io.Writer) {
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
	o := r.opts
	names := r.targetNames()
	p("### Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("- Command: `%s` at %s\n", r.command, r.revision)
	p("- Machine: %s; load average %s before the measurements, %s after\n",
		r.machine, r.loadBefore, r.loadAfter)
	p("- Data: %d messages in the measured INBOX and %d in another organization's", o.messages, o.messages)
	p("\n- Page of %d rows; response bodies:", pageSize)
	for i, n := range names {
		sep := ","
		if i == 0 {
			sep = ""
		}
		p("%s %s %s", sep, n, kib(float64(r.bodies[n])))
	}
	p("\n- In-process load: %d clients, %v warm-up then %v per phase, %d rounds of %s\n\n",
		o.clients, o.warmup, o.duration, o.rounds, strings.Join(names, ", "))

	p("#### In-process load generator\n\n")
	p("| Endpoint | Round | Requests | Req/s | p50 ms | p90 ms | p99 ms | Max ms | CPU ms/req† | Allocs/req† |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	byTarget := map[string][]*phase{}
	for _, ph := range r.phases {
		p("| %s | %d | %s |\n", ph.target, ph.round, summarize(ph).row())
		byTarget[ph.target] = append(byTarget[ph.target], ph)
	}
	all := map[string]stats{}
	for _, n := range names {
		all[n] = summarize(byTarget[n]...)
		p("| **%s** | all | %s |\n", n, all[n].row())
	}
	p("\n† CPU time and heap allocations of the whole process per request, load generator " +
		"included.\n\n")
	base := all[names[len(names)-1]]
	for _, n := range names[:len(names)-1] {
		ratio(w, n, cost{all[n].rps, all[n].p99, all[n].cpuPerReq}, cost{base.rps, base.p99, base.cpuPerReq})
	}

	if len(r.wrk) > 0 {
		r.writeWrk(w, names)
	}

	p("\n#### Allocations per request, handler alone\n\n")
	p("| Endpoint | Allocs/req | KiB/req |\n|---|--:|--:|\n")
	for _, n := range names {
		a := r.allocs[n]
		p("| %s | %.0f | %.1f |\n", n, a.objects, a.bytes/1024)
	}
	p("\nEach handler called directly %d times in a row, no client or network in between.\n\n",
		o.allocRequests)

	p("#### SQLite plans\n\nThe page query (both endpoints):\n\n```\n%s\n```\n\n",
		strings.Join(r.plan, "\n"))
	p("The COUNT that entgql adds when pageInfo is selected:\n\n```\n%s\n```\n",
		strings.Join(r.countPlan, "\n"))
}

// targetNames returns the targets in the order they ran, plain last.
func (r *results) targetNames() []string {
	var names []string
	for _, ph := range r.phases {
		if ph.round == 1 {
			names = append(names, ph.target)
		}
	}
	return names
}

func (r *results) writeWrk(w io.Writer, names []string) {
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
	threads := min(runtime.NumCPU(), r.opts.clients)
	p("#### wrk, a separate process (`wrk -t%d -c%d -d%v`)\n\n", threads, r.opts.clients,
		r.opts.wrkDuration)
	p("| Endpoint | Round | Requests | Req/s | p50 ms | p90 ms | p99 ms | Max ms | Server CPU ms/req |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	type sum struct {
		requests int64
		elapsed  time.Duration
		cpu      time.Duration
		p99      []time.Duration
	}
	sums := map[string]*sum{}
	for _, x := range r.wrk {
		p("| %s | %d | %d | %.0f | %s | %s | %s | %s | %s |\n", x.target, x.round, x.requests, x.rps(),
			ms(x.p50), ms(x.p90), ms(x.p99), ms(x.max), ms(x.cpu/time.Duration(x.requests)))
		if sums[x.target] == nil {
			sums[x.target] = &sum{}
		}
		s := sums[x.target]
		s.requests += x.requests
		s.elapsed += x.elapsed
		s.cpu += x.cpu
		s.p99 = append(s.p99, x.p99)
	}
	p("\nwrk reports percentiles per run only, so the p99 ratio takes the mean of the rounds' p99.\n\n")
	c := func(s *sum) cost {
		return cost{float64(s.requests) / s.elapsed.Seconds(), mean(s.p99), s.cpu / time.Duration(s.requests)}
	}
	base := c(sums[names[len(names)-1]])
	for _, n := range names[:len(names)-1] {
		ratio(w, n, c(sums[n]), base)
	}
}

// cost is what an endpoint's requests cost: throughput, p99 latency and
// CPU time per request.
type cost struct {
	rps float64
	p99 time.Duration
	cpu time.Duration
}

// ratio prints how much more a request to name costs than a plain one,
// and whether that is under the target of twice on all three counts.
func ratio(w io.Writer, name string, g, pl cost) {
	rps := pl.rps / g.rps
	lat := float64(g.p99) / float64(pl.p99)
	cpu := float64(g.cpu) / float64(pl.cpu)
	verdict := "met"
	if rps >= 2 || lat >= 2 || cpu >= 2 {
		verdict = "**not met**"
	}
	_, _ = fmt.Fprintf(w, "%s/plain: **%.2f×** the time per request at saturation (plain %.0f req/s, "+
		"%s %.0f), **%.2f×** the p99 latency, **%.2f×** the CPU per request. Target < 2×: %s.\n\n",
		name, rps, pl.rps, name, g.rps, lat, cpu, verdict)
}

func (s stats) row() string {
	return fmt.Sprintf("%d | %.0f | %s | %s | %s | %s | %s | %.0f", s.requests, s.rps,
		ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.cpuPerReq), s.mallocsPerReq)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func kib(n float64) string { return fmt.Sprintf("%.1f KiB", n/1024) }

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(max(len(ds), 1))
}
