// Command graphqlread measures Lightr's GraphQL read path beside a plain
// net/http handler that returns the same rows from the same SQLite
// database, to see what the GraphQL layer costs.
//
// It opens a fresh Lightr in a temporary directory, seeds two organizations
// with -messages messages each, and serves on two loopback ports of this
// process:
//
//   - the GraphQL handler as `lightr serve` builds it, asked for a
//     connection of the 50 newest INBOX messages with an organization
//     token (read scope);
//   - a plain handler that checks the same token, runs the equivalent SQL
//     query on the reader pool and encodes the rows with encoding/json.
//
// It first checks that both return the same 50 rows and fails otherwise.
// It then loads each endpoint with -c concurrent clients, each sending its
// next request when the last is answered, for -d after a -warmup; GraphQL
// then plain, -rounds times (ABAB), so that drift on a busy machine touches
// both. The clients are goroutines of this process on keep-alive
// connections: every latency is recorded, but they share the CPU with the
// servers. When wrk is installed (-wrk auto), it loads both again from a
// separate process as a cross-check. It also counts the heap allocations of
// each handler alone.
//
// The report goes to stdout as Markdown, for docs/PERFORMANCE.md; progress
// goes to stderr. From the repository root:
//
//	go run ./bench/graphqlread                       # about 90 s
//	go run ./bench/graphqlread -cpuprofile /tmp/gql  # and /tmp/gql-graphql-1.pprof, …
//	go tool pprof -top /tmp/gql-graphql-*.pprof
//
// All traffic goes to 127.0.0.1, and every phase ends by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	messages      int
	clients       int
	duration      time.Duration
	warmup        time.Duration
	rounds        int
	wrk           string
	wrkDuration   time.Duration
	allocRequests int
	cpuProfile    string
	memProfile    string
	edgesOnly     bool
}

func main() {
	var o options
	flag.IntVar(&o.messages, "messages", 10000, "messages per organization (two are seeded)")
	flag.IntVar(&o.clients, "c", 8, "concurrent clients")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured time per phase")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each phase")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of GraphQL then plain")
	flag.StringVar(&o.wrk, "wrk", "auto", "cross-check with wrk: auto (if installed), on or off")
	flag.DurationVar(&o.wrkDuration, "wrk-d", 5*time.Second, "time per wrk phase (whole seconds)")
	flag.IntVar(&o.allocRequests, "allocs", 50, "sequential requests per handler for the allocation count")
	flag.StringVar(&o.memProfile, "memprofile", "",
		"write heap profiles around each allocation count to `prefix`-<endpoint>[.base].pprof")
	flag.BoolVar(&o.edgesOnly, "edges-only", false,
		"also measure the GraphQL query without pageInfo, which spares entgql's COUNT query")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "",
		"write a CPU profile of each measured phase to `prefix`-<endpoint>-<round>.pprof")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		flag.Usage()
		os.Exit(2)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	command := strings.TrimSpace("go run ./bench/graphqlread " + strings.Join(os.Args[1:], " "))
	if err := run(context.Background(), o, command, log, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "graphqlread:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.messages < 1:
		return fmt.Errorf("-messages must be at least 1")
	case o.clients < 1:
		return fmt.Errorf("-c must be at least 1")
	case o.duration <= 0 || o.warmup < 0 || o.wrkDuration < time.Second:
		return fmt.Errorf("-d must be positive, -warmup not negative, -wrk-d at least 1s")
	case o.rounds < 1 || o.allocRequests < 1:
		return fmt.Errorf("-rounds and -allocs must be at least 1")
	}
	return nil
}

// run seeds, validates, measures and writes the report to out.
func run(ctx context.Context, o options, command string, log *slog.Logger, out, progress io.Writer) error {
	say := func(format string, a ...any) { _, _ = fmt.Fprintf(progress, "graphqlread: "+format+"\n", a...) }
	wrkBin, err := findWrk(o.wrk)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lightr-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	t0 := time.Now()
	b, err := setup(ctx, dir, o.messages, log)
	if err != nil {
		return err
	}
	defer b.Close()
	say("seeded 2 organizations × %d messages in %v", o.messages, time.Since(t0).Round(time.Millisecond))

	r := &results{
		command: command, revision: revision(ctx), opts: o, bodies: map[string]int{}, allocs: map[string]allocs{},
		machine: machine(ctx, b.app.DB.Driver.Reader()),
	}
	targets, err := prepare(ctx, o, b, r, say)
	if err != nil {
		return err
	}
	client := newClient(o.clients)
	r.loadBefore = loadAvg()
	if err := measure(ctx, o, client, targets, r, say); err != nil {
		return err
	}
	if wrkBin != "" {
		if err := measureWrk(ctx, o, wrkBin, dir, targets, r, say); err != nil {
			return err
		}
	} else {
		say("wrk not used (-wrk %s)", o.wrk)
	}
	r.loadAfter = loadAvg()
	r.write(out)
	return nil
}

// prepare returns the targets, GraphQL first and plain last, after
// checking that each GraphQL query returns the plain handler's rows; it
// records the body sizes, the query plans and the allocations.
func prepare(ctx context.Context, o options, b *bench, r *results,
	say func(string, ...any)) ([]*target, error) {
	targets := []*target{{
		name: "graphql", method: "POST", url: b.graphQLURL, body: graphQLBody(true),
		handler: b.graphQL, graphQL: true, pageInfo: true,
	}}
	if o.edgesOnly {
		targets = append(targets, &target{
			name: "graphql-edges", method: "POST", url: b.graphQLURL, body: graphQLBody(false),
			handler: b.graphQL, graphQL: true,
		})
	}
	plain := &target{name: "plain", method: "GET", url: b.plainURL, handler: b.plain}
	targets = append(targets, plain)
	for _, t := range targets {
		t.token = b.token
	}

	// The comparison means something only if both answer the same.
	c := newClient(1)
	want := min(pageSize, o.messages)
	for _, t := range targets[:len(targets)-1] {
		gsize, psize, err := validate(ctx, c, t, plain, want)
		if err != nil {
			return nil, err
		}
		r.bodies[t.name], r.bodies[plain.name] = gsize, psize
		say("%s and plain return the same %d rows", t.name, want)
	}

	reader := b.app.DB.Driver.Reader()
	var err error
	if r.plan, err = explain(ctx, reader, plainQuery, "INBOX", string(b.org), pageSize+1); err != nil {
		return nil, err
	}
	if r.countPlan, err = explain(ctx, reader, countQuery, "INBOX", string(b.org)); err != nil {
		return nil, err
	}
	for _, t := range targets {
		if r.allocs[t.name], err = measureAllocs(ctx, t, o.allocRequests, o.memProfile); err != nil {
			return nil, err
		}
	}
	return targets, nil
}

// measure runs the in-process load: rounds × targets phases, each after
// its own warm-up and a GC, so that one phase's garbage is not collected
// in the next.
func measure(ctx context.Context, o options, c *http.Client, targets []*target, r *results,
	say func(string, ...any)) error {
	for round := 1; round <= o.rounds; round++ {
		for _, t := range targets {
			if o.warmup > 0 {
				if w := runLoad(ctx, c, t, o.clients, o.warmup); w.errs > 0 {
					return fmt.Errorf("%s warm-up: %d errors, first: %w", t.name, w.errs, w.firstErr)
				}
			}
			runtime.GC()
			stop, err := startProfile(o.cpuProfile, t.name, round)
			if err != nil {
				return err
			}
			p := runLoad(ctx, c, t, o.clients, o.duration)
			if err := stop(); err != nil {
				return err
			}
			if p.errs > 0 {
				return fmt.Errorf("%s round %d: %d errors, first: %w", t.name, round, p.errs, p.firstErr)
			}
			p.round = round
			r.phases = append(r.phases, p)
			s := summarize(p)
			say("%s round %d: %d requests, %.0f req/s, p99 %s ms", t.name, round, s.requests, s.rps, ms(s.p99))
		}
	}
	return nil
}

// startProfile starts a CPU profile of one phase when prefix is set, and
// returns the function that stops and writes it.
func startProfile(prefix, name string, round int) (func() error, error) {
	if prefix == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%s-%d.pprof", prefix, name, round))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// measureWrk loads each target with wrk, in the same ABAB order. The
// servers are warm by now.
func measureWrk(ctx context.Context, o options, bin, dir string, targets []*target, r *results,
	say func(string, ...any)) error {
	scripts := map[string]string{}
	for _, t := range targets {
		path, err := writeWrkScript(dir, t)
		if err != nil {
			return err
		}
		scripts[t.name] = path
	}
	for round := 1; round <= o.rounds; round++ {
		for _, t := range targets {
			runtime.GC()
			x, err := runWrk(ctx, bin, scripts[t.name], t, o.clients, o.wrkDuration)
			if err != nil {
				return err
			}
			if x.ioErrs > 0 || x.statusErrs > 0 {
				return fmt.Errorf("wrk %s round %d: %d socket errors, %d non-2xx answers",
					t.name, round, x.ioErrs, x.statusErrs)
			}
			x.round = round
			r.wrk = append(r.wrk, x)
			say("wrk %s round %d: %d requests, %.0f req/s, p99 %s ms", t.name, round, x.requests, x.rps(), ms(x.p99))
		}
	}
	return nil
}
