// Command webhooks measures webhook deliveries per second: it queues N
// events for one endpoint on a loopback net/http receiver that verifies
// every signature, runs the dispatcher and reports the rate, CPU time and
// peak heap. Run it with run.sh; figures are in docs/PERFORMANCE.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/jobs/webhooks"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/server/db"
)

func main() {
	n := flag.Int("events", 5000, "events to deliver")
	workers := flag.Int("workers", 8, "delivery workers")
	flag.Parse()
	if err := run(*n, *workers); err != nil {
		log.Fatal(err)
	}
}

func run(n, workers int) error {
	dir, err := os.MkdirTemp("", "lightr-bench-webhooks")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	admin := viewer.AdminContext(context.Background())
	d, err := db.Open(admin, db.Options{Path: filepath.Join(dir, "lightr.db")})
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	org, err := d.Client.Organization.Create().SetName("bench").Save(admin)
	if err != nil {
		return err
	}

	var secret string
	var ok, bad atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if !webhooks.Verify(secret, r.Header.Get("webhook-id"), ts, body, r.Header.Get("webhook-signature")) {
			bad.Add(1)
		}
		if ok.Add(1) == int64(n) {
			close(done)
		}
	}))
	defer srv.Close()

	p := webhooks.Policy{AllowLoopback: true, AllowHTTP: true}
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindOrg, OrgID: org.ID, Scopes: []viewer.Scope{viewer.ScopeWrite},
	})
	if _, secret, err = webhooks.Create(ctx, d.Client, p, ent.CreateWebhookInput{URL: srv.URL}); err != nil {
		return err
	}

	// The events, committed before the clock starts, 500 a transaction.
	sys := rule.SystemContext(context.Background())
	for i := 0; i < n; i += 500 {
		var bulk []*ent.EventCreate
		for j := i; j < min(n, i+500); j++ {
			bulk = append(bulk, d.Client.Event.Create().SetOrganizationID(org.ID).
				SetType("message.delivered").SetRecipient(fmt.Sprintf("r%d@example.com", j)).
				SetPayload(map[string]any{"attempt": 1, "code": 250}))
		}
		if err := d.Client.Event.CreateBulk(bulk...).Exec(sys); err != nil {
			return err
		}
	}

	hub := notify.New()
	disp := webhooks.New(d.Client, webhooks.Options{Policy: p, Workers: workers, Notify: hub})
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() { _ = disp.Run(rctx); close(stopped) }()
	var peak uint64
	tick := time.NewTicker(50 * time.Millisecond)
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		case <-time.After(5 * time.Minute):
			return fmt.Errorf("timed out after %d deliveries", ok.Load())
		}
	}
	elapsed := time.Since(start)
	cancel()
	<-stopped
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	fmt.Printf("events=%d workers=%d elapsed=%v rate=%.0f/s cpu=%v (%.0f%% of one core) peak_heap=%dMiB "+
		"bad_signatures=%d\n", n, workers, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
		cpu.Round(time.Millisecond), 100*cpu.Seconds()/elapsed.Seconds(), peak>>20, bad.Load())
	return nil
}
