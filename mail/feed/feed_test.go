package feed_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/feed"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/server/db"
)

// world is a database with one organization, a hub and a feed.
type world struct {
	db    *db.DB
	hub   *notify.Hub
	feed  *feed.Feed
	org   string
	admin context.Context
}

func newWorld(t testing.TB, o feed.Options) *world {
	t.Helper()
	admin := viewer.AdminContext(context.Background())
	d, err := db.Open(admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	org, err := d.Organization.Create().SetName("acme").Save(admin)
	if err != nil {
		t.Fatal(err)
	}
	hub := notify.New()
	f := feed.New(d.Client, hub, o)
	t.Cleanup(f.Close)
	return &world{db: d, hub: hub, feed: f, org: string(org.ID), admin: admin}
}

// appendEvents commits n events in one transaction and publishes them.
func (w *world) appendEvents(t testing.TB, n int) {
	t.Helper()
	tx, err := w.db.Tx(w.admin)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		err := tx.Event.Create().SetOrganizationID(ptrID(w.org)).SetType("message.queued").Exec(w.admin)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	w.hub.PublishEvents(ptrID(w.org))
}

// TestSubscribe_SlowConsumerDropped fills one subscriber's buffer while
// another reads: the first ends with ErrSlowConsumer, the second gets
// every event, and the writer never waits.
func TestSubscribe_SlowConsumerDropped(t *testing.T) {
	w := newWorld(t, feed.Options{Buffer: 4})
	ctx := viewer.AdminContext(context.Background())
	slow, err := w.feed.Subscribe(ctx, ptrID(w.org), nil, feed.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := w.feed.Subscribe(ctx, ptrID(w.org), nil, feed.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // both joined

	var got []int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range fast.C {
			got = append(got, e.Seq)
			if len(got) == 30 {
				return
			}
		}
	}()
	for range 10 {
		w.appendEvents(t, 3) // at most 3 at a time: the fast one keeps up
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()

	n := 0
	for range slow.C {
		n++
	}
	if !errors.Is(slow.Err(), feed.ErrSlowConsumer) || n != 4 {
		t.Errorf("slow subscriber: %d events then %v, want 4 then ErrSlowConsumer", n, slow.Err())
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("fast subscriber's seqs %v are not consecutive", got)
		}
	}
}

func ptrID(s string) pulid.ID { return pulid.ID(s) }
