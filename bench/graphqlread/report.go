package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	command          string
	machine          string
	messages         int
	clients          int
	warmup, duration time.Duration
	rounds           int
	gqlBody          int
	plainBody        int
	phases           []*phase // in the order run
	allocs           map[string]allocs
	allocRequests    int
	wrk              []*wrkResult
	wrkDuration      time.Duration
	plan             []string
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

// explain returns SQLite's plan for query.
func explain(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("### Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("- Command: `%s`\n", r.command)
	p("- Machine: %s\n", r.machine)
	p("- Data: %d messages in the measured INBOX and %d in another organization's; "+
		"pages of %d rows: %s (GraphQL) and %s (plain) of JSON\n",
		r.messages, r.messages, pageSize, kib(float64(r.gqlBody)), kib(float64(r.plainBody)))
	p("- In-process load: %d clients, %v warm-up then %v per phase, %d rounds of "+
		"GraphQL then plain\n\n", r.clients, r.warmup, r.duration, r.rounds)

	p("#### In-process load generator\n\n")
	p("| Endpoint | Round | Requests | Req/s | p50 ms | p90 ms | p99 ms | Max ms | Allocs/req† |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	byTarget := map[string][]*phase{}
	var order []string
	for _, ph := range r.phases {
		s := summarize(ph)
		p("| %s | %d | %s |\n", ph.target, ph.round, s.row())
		if byTarget[ph.target] == nil {
			order = append(order, ph.target)
		}
		byTarget[ph.target] = append(byTarget[ph.target], ph)
	}
	all := map[string]stats{}
	for _, name := range order {
		all[name] = summarize(byTarget[name]...)
		p("| **%s** | all | %s |\n", name, all[name].row())
	}
	p("\n† heap allocations of the whole process per request, load generator included.\n\n")
	if len(order) == 2 {
		g, pl := all[order[0]], all[order[1]]
		r.ratio(w, g.rps, pl.rps, g.p99, pl.p99)
	}

	if len(r.wrk) > 0 {
		r.writeWrk(w)
	}

	p("#### Allocations per request, handler alone\n\n")
	p("| Endpoint | Allocs/req | KiB/req |\n|---|--:|--:|\n")
	for _, name := range order {
		a := r.allocs[name]
		p("| %s | %.0f | %.1f |\n", name, a.objects, a.bytes/1024)
	}
	p("\nMeasured by calling each handler directly %d times in a row, no client or "+
		"network in between.\n\n", r.allocRequests)

	p("#### SQLite plan of the page query (both endpoints)\n\n```\n%s\n```\n",
		strings.Join(r.plan, "\n"))
}

func (r *results) writeWrk(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	threads := min(runtime.NumCPU(), r.clients)
	p("#### wrk, a separate process (`wrk -t%d -c%d -d%v`)\n\n", threads, r.clients, r.wrkDuration)
	p("| Endpoint | Round | Requests | Req/s | p50 ms | p90 ms | p99 ms | Max ms |\n")
	p("|---|---|--:|--:|--:|--:|--:|--:|\n")
	type sum struct {
		requests int64
		elapsed  time.Duration
		p99      []time.Duration
	}
	sums := map[string]*sum{}
	var order []string
	for _, x := range r.wrk {
		p("| %s | %d | %d | %.0f | %s | %s | %s | %s |\n", x.target, x.round, x.requests, x.rps(),
			ms(x.p50), ms(x.p90), ms(x.p99), ms(x.max))
		if sums[x.target] == nil {
			sums[x.target] = &sum{}
			order = append(order, x.target)
		}
		s := sums[x.target]
		s.requests += x.requests
		s.elapsed += x.elapsed
		s.p99 = append(s.p99, x.p99)
	}
	p("\nwrk reports percentiles per run only, so the ratio below takes the mean of the " +
		"rounds' p99.\n\n")
	if len(order) == 2 {
		g, pl := sums[order[0]], sums[order[1]]
		r.ratio(w, float64(g.requests)/g.elapsed.Seconds(), float64(pl.requests)/pl.elapsed.Seconds(),
			mean(g.p99), mean(pl.p99))
	}
}

// ratio prints how much more a GraphQL request costs than a plain one and
// whether that is under the target of twice.
func (r *results) ratio(w io.Writer, gRPS, pRPS float64, gP99, pP99 time.Duration) {
	cost := pRPS / gRPS
	lat := float64(gP99) / float64(pP99)
	verdict := "met"
	if cost >= 2 || lat >= 2 {
		verdict = "**not met**"
	}
	fmt.Fprintf(w, "GraphQL/plain: **%.2f×** the cost per request (plain serves %.0f req/s, "+
		"GraphQL %.0f), **%.2f×** the p99 latency. Target < 2×: %s.\n\n", cost, pRPS, gRPS, lat, verdict)
}

func (s stats) row() string {
	return fmt.Sprintf("%d | %.0f | %s | %s | %s | %s | %.0f", s.requests, s.rps,
		ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), s.mallocsPerReq)
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
