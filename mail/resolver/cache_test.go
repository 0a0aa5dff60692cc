package resolver_test

import (
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lightr-mail/lightr/mail/resolver"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withClock gives r a fake clock and returns it.
func withClock(r *resolver.Resolver) *fakeClock {
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	resolver.SetClock(r, c.now)
	return c
}

func TestCache_PositiveAnswersKeptForTTL(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	clock := withClock(r)
	ctx := testContext(t)
	srv.AddTXT("ttl.example.com", 30, "thirty")
	srv.AddTXT("forever.example.com", 86400, "a day")
	srv.AddTXT("zero.example.com", 0, "no cache")

	lookup := func(name string) {
		t.Helper()
		if _, err := r.LookupTXT(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	asked := func(name string, want int) {
		t.Helper()
		if got := srv.Queries(name, dns.TypeTXT); got != want {
			t.Errorf("%s asked %d times, want %d", name, got, want)
		}
	}

	lookup("ttl.example.com")
	lookup("TTL.example.com.")
	asked("ttl.example.com", 1)
	clock.advance(29 * time.Second)
	lookup("ttl.example.com")
	asked("ttl.example.com", 1)
	clock.advance(time.Second)
	lookup("ttl.example.com")
	asked("ttl.example.com", 2)

	// A day-long TTL is capped at an hour.
	lookup("forever.example.com")
	clock.advance(time.Hour - time.Second)
	lookup("forever.example.com")
	asked("forever.example.com", 1)
	clock.advance(time.Second)
	lookup("forever.example.com")
	asked("forever.example.com", 2)

	// TTL 0 means "do not cache".
	lookup("zero.example.com")
	lookup("zero.example.com")
	asked("zero.example.com", 2)
}

func TestCache_NegativeAnswersKeptForSOAMinimum(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	clock := withClock(r)
	ctx := testContext(t)
	srv.SetNegativeTTL(30)
	srv.Add(t, `nodata.example.com. 300 IN A 192.0.2.1`)

	for _, name := range []string{"nxdomain.example.com", "nodata.example.com"} {
		for range 2 {
			if _, err := r.LookupTXT(ctx, name); !resolver.IsNotFound(err) {
				t.Fatalf("%s: error = %v, want not found", name, err)
			}
		}
		if got := srv.Queries(name, dns.TypeTXT); got != 1 {
			t.Errorf("%s asked %d times within the negative TTL, want 1", name, got)
		}
	}

	// A record added meanwhile is seen once the negative answer expires.
	srv.AddTXT("nxdomain.example.com", 300, "now here")
	clock.advance(30 * time.Second)
	if got, err := r.LookupTXT(ctx, "nxdomain.example.com"); err != nil || len(got) != 1 {
		t.Errorf("after expiry: %v, %v", got, err)
	}

	// A long SOA minimum is capped at 15 minutes.
	srv.SetNegativeTTL(86400)
	_, _ = r.LookupTXT(ctx, "capped.example.com")
	clock.advance(15*time.Minute - time.Second)
	_, _ = r.LookupTXT(ctx, "capped.example.com")
	clock.advance(time.Second)
	_, _ = r.LookupTXT(ctx, "capped.example.com")
	if got := srv.Queries("capped.example.com", dns.TypeTXT); got != 2 {
		t.Errorf("capped asked %d times, want 2", got)
	}
}

func TestCache_BoundedEvictsOldest(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{CacheSize: 2})
	ctx := testContext(t)
	for _, name := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		srv.AddTXT(name, 300, name)
		if _, err := r.LookupTXT(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if n := resolver.CacheLen(r); n != 2 {
		t.Errorf("cache holds %d answers, want 2", n)
	}

	_, _ = r.LookupTXT(ctx, "c.example.com")
	_, _ = r.LookupTXT(ctx, "a.example.com")
	if got := srv.Queries("c.example.com", dns.TypeTXT); got != 1 {
		t.Errorf("newest entry asked %d times, want 1 (cached)", got)
	}
	if got := srv.Queries("a.example.com", dns.TypeTXT); got != 2 {
		t.Errorf("oldest entry asked %d times, want 2 (evicted)", got)
	}
}

func TestCache_Disabled(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{CacheSize: -1})
	ctx := testContext(t)
	srv.AddTXT("nocache.example.com", 300, "x")
	for range 3 {
		if _, err := r.LookupTXT(ctx, "nocache.example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Queries("nocache.example.com", dns.TypeTXT); got != 3 {
		t.Errorf("asked %d times without a cache, want 3", got)
	}
}
