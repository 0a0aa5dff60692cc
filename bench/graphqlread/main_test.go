package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestGraphQLRead_SameRows keeps the benchmark honest as the schema moves:
// both endpoints must return the same rows, and a short load must run
// without errors. Nothing here is timed.
func TestGraphQLRead_SameRows(t *testing.T) {
	ctx := context.Background()
	b, err := setup(ctx, t.TempDir(), 120, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	o := options{messages: 120, clients: 2, edgesOnly: true, allocRequests: 3}
	r := &results{opts: o, bodies: map[string]int{}, allocs: map[string]allocs{}}
	targets, err := prepare(ctx, o, b, r, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 3 || r.bodies["graphql"] == 0 || r.allocs["plain"].objects == 0 {
		t.Fatalf("prepare: %d targets, bodies %v, allocs %v", len(targets), r.bodies, r.allocs)
	}
	if len(r.plan) == 0 || len(r.countPlan) == 0 {
		t.Errorf("no query plans: %q, %q", r.plan, r.countPlan)
	}

	c := newClient(o.clients)
	for _, tg := range targets {
		p := runLoad(ctx, c, tg, o.clients, 200*time.Millisecond)
		if p.errs > 0 || len(p.lat) == 0 {
			t.Errorf("%s: %d requests, %d errors, first: %v", tg.name, len(p.lat), p.errs, p.firstErr)
		}
		p.round = 1
		r.phases = append(r.phases, p)
	}
	var out bytes.Buffer
	r.write(&out)
	for _, want := range []string{"| **graphql** | all |", "graphql/plain:", "#### SQLite plans"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGraphQLRead_TenantFilter checks that the other organization's
// messages exist, so that the tenant filter has something to filter.
func TestGraphQLRead_TenantFilter(t *testing.T) {
	ctx := context.Background()
	b, err := setup(ctx, t.TempDir(), 60, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	var total, ours int
	db := b.app.DB.Driver.Reader()
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&total); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE organization_id = ?",
		string(b.org)).Scan(&ours)
	if err != nil {
		t.Fatal(err)
	}
	if total != 120 || ours != 60 {
		t.Errorf("messages: %d in all, %d in the measured organization; want 120 and 60", total, ours)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, x := range n {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"p50 of 4", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 of 100", ms(hundred...), 100, 100 * time.Millisecond},
		{"p90 of 10", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %d) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestParseWrk(t *testing.T) {
	out := []byte("Running 5s test @ http://127.0.0.1:1/x\n" +
		"LIGHTR_BENCH 1200 5000000 3000000 0 0 2500 4000 9000 15000\n")
	r, err := parseWrk("plain", out)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 1200 || r.rps() != 240 || r.p99 != 9*time.Millisecond || r.max != 15*time.Millisecond {
		t.Errorf("parseWrk = %+v", r)
	}
	if _, err := parseWrk("plain", []byte("no summary\n")); err == nil {
		t.Error("parseWrk accepted output without the summary line")
	}
}
