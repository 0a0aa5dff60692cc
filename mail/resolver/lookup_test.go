package resolver_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
)

// newResolver starts a test DNS server and returns a Resolver that asks it.
func newResolver(tb testing.TB, o resolver.Options) (*resolver.Resolver, *resolvertest.Server) {
	tb.Helper()
	srv := resolvertest.Start(tb)
	o.Server = srv.Addr
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	r, err := resolver.New(o)
	if err != nil {
		tb.Fatalf("resolver.New: %v", err)
	}
	return r, srv
}

// testContext returns a context bounded well within the test timeout.
func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestLookup_Records(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	ctx := testContext(t)
	long := strings.Repeat("k", 300) + `"quoted";\back` + "\x01"
	srv.AddTXT("example.com", 300, "v=spf1 ip4:127.0.0.1 -all")
	srv.AddTXT("long.example.com", 300, long)
	srv.Add(t,
		`example.com. 300 IN MX 20 mx2.example.com.`,
		`example.com. 300 IN MX 10 mx1.example.com.`,
		`example.com. 300 IN MX 30 mx3.example.com.`,
		`host.example.com. 300 IN A 192.0.2.1`,
		`host.example.com. 300 IN AAAA 2001:db8::1`,
		`alias.example.com. 300 IN CNAME host.example.com.`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR host.example.com.`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR `+
			`host6.example.com.`,
	)

	t.Run("TXT", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "Example.COM")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"v=spf1 ip4:127.0.0.1 -all"}, got); diff != "" {
			t.Errorf("TXT (-want +got):\n%s", diff)
		}
	})
	t.Run("TXTSplitAndEscaped", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "long.example.com.")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{long}, got); diff != "" {
			t.Errorf("TXT (-want +got):\n%s", diff)
		}
	})
	t.Run("MXSortedByPreference", func(t *testing.T) {
		got, err := r.LookupMX(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := []*net.MX{
			{Host: "mx1.example.com.", Pref: 10},
			{Host: "mx2.example.com.", Pref: 20},
			{Host: "mx3.example.com.", Pref: 30},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("MX (-want +got):\n%s", diff)
		}
	})
	t.Run("IPAddrBothFamiliesThroughCNAME", func(t *testing.T) {
		for _, host := range []string{"host.example.com", "alias.example.com"} {
			got, err := r.LookupIPAddr(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"192.0.2.1", "2001:db8::1"}
			if diff := cmp.Diff(want, ipStrings(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", host, diff)
			}
		}
	})
	t.Run("IPLiteral", func(t *testing.T) {
		got, err := r.LookupIPAddr(ctx, "198.51.100.7")
		if err != nil || len(got) != 1 || got[0].IP.String() != "198.51.100.7" {
			t.Errorf("LookupIPAddr(literal) = %v, %v", got, err)
		}
	})
	t.Run("PTR", func(t *testing.T) {
		for addr, want := range map[string]string{
			"192.0.2.1":   "host.example.com.",
			"2001:db8::1": "host6.example.com.",
		} {
			got, err := r.LookupAddr(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{want}, got); diff != "" {
				t.Errorf("PTR %s (-want +got):\n%s", addr, diff)
			}
		}
	})
}

// ipStrings returns the addresses as sorted strings.
func ipStrings(addrs []net.IPAddr) []string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.IP.String())
	}
	slices.Sort(s)
	return s
}

func TestLookup_ErrorClassification(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	ctx := testContext(t)
	srv.Add(t, `exists.example.com. 300 IN A 192.0.2.1`)
	srv.Fail("broken.example.com", dns.RcodeServerFailure)
	srv.Fail("refused.example.com", dns.RcodeRefused)

	tests := []struct {
		name         string
		host         string
		wantNotFound bool
		wantTemp     bool
		wantIs       error
	}{
		{"NXDOMAIN", "missing.example.com", true, false, resolver.ErrNXDomain},
		{"NODATA", "exists.example.com", true, false, resolver.ErrNoData},
		{"SERVFAIL", "broken.example.com", false, true, resolver.ErrServerFailure},
		{"REFUSED", "refused.example.com", false, true, resolver.ErrServerFailure},
		{"InvalidName", "bad..name", true, false, resolver.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.LookupTXT(ctx, tt.host)
			// The SPF and DMARC libraries use a type assertion, not errors.As.
			de, ok := err.(*net.DNSError) //nolint:errorlint // what the libraries do
			if !ok {
				t.Fatalf("LookupTXT error = %T %v, want *net.DNSError", err, err)
			}
			if de.Name != tt.host {
				t.Errorf("Name = %q, want %q", de.Name, tt.host)
			}
			if got := resolver.IsNotFound(err); got != tt.wantNotFound {
				t.Errorf("IsNotFound = %v, want %v (%v)", got, tt.wantNotFound, err)
			}
			if got := resolver.IsTemporary(err); got != tt.wantTemp || de.Temporary() != tt.wantTemp {
				t.Errorf("IsTemporary = %v, want %v (%v)", got, tt.wantTemp, err)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}

	t.Run("InvalidAddress", func(t *testing.T) {
		_, err := r.LookupAddr(ctx, "not-an-ip")
		if !errors.Is(err, resolver.ErrInvalidAddress) || resolver.IsTemporary(err) {
			t.Errorf("LookupAddr(not-an-ip) error = %v", err)
		}
	})
	t.Run("ServerFailureNotCached", func(t *testing.T) {
		before := srv.Queries("broken.example.com", dns.TypeTXT)
		_, _ = r.LookupTXT(ctx, "broken.example.com")
		if got := srv.Queries("broken.example.com", dns.TypeTXT); got != before+1 {
			t.Errorf("server asked %d times after a retry, want %d", got, before+1)
		}
	})
}

func TestLookupIPAddr_PartialFailure(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	ctx := testContext(t)
	srv.Add(t, `v4only.example.com. 300 IN A 192.0.2.1`)

	got, err := r.LookupIPAddr(ctx, "v4only.example.com")
	if err != nil || len(got) != 1 {
		t.Fatalf("A without AAAA: %v, %v", got, err)
	}

	_, err = r.LookupIPAddr(ctx, "nowhere.example.com")
	if !resolver.IsNotFound(err) || !errors.Is(err, resolver.ErrNXDomain) {
		t.Errorf("no A and no AAAA: error = %v, want NXDOMAIN", err)
	}

	srv.Add(t, `half.example.com. 300 IN A 192.0.2.2`)
	srv.Fail("half.example.com", dns.RcodeServerFailure)
	if _, err := r.LookupIPAddr(ctx, "half.example.com"); !resolver.IsTemporary(err) {
		t.Errorf("SERVFAIL: error = %v, want temporary", err)
	}
}

func TestLookup_TruncationRetriesOverTCP(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	ctx := testContext(t)

	// Forced: every UDP answer is empty and truncated.
	srv.AddTXT("tc.example.com", 300, "over tcp")
	srv.TruncateUDP("tc.example.com")
	got, err := r.LookupTXT(ctx, "tc.example.com")
	if err != nil || !slices.Equal(got, []string{"over tcp"}) {
		t.Fatalf("LookupTXT = %q, %v", got, err)
	}
	if srv.TCPQueries() != 1 {
		t.Errorf("TCP queries = %d, want 1", srv.TCPQueries())
	}

	// Natural: the answer does not fit the 1232-byte EDNS0 buffer.
	var want []string
	for i := range 12 {
		txt := strings.Repeat(string(rune('a'+i)), 200)
		srv.AddTXT("big.example.com", 300, txt)
		want = append(want, txt)
	}
	got, err = r.LookupTXT(ctx, "big.example.com")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("big TXT (-want +got):\n%s", diff)
	}
	if srv.TCPQueries() != 2 {
		t.Errorf("TCP queries = %d, want 2", srv.TCPQueries())
	}
}

func TestLookup_TimeoutBounded(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{Timeout: 200 * time.Millisecond})
	srv.Drop("silent.example.com")

	start := time.Now()
	_, err := r.LookupTXT(testContext(t), "silent.example.com")
	elapsed := time.Since(start)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout || !resolver.IsTemporary(err) {
		t.Fatalf("error = %v, want a temporary timeout", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("lookup took %v with a 200ms timeout", elapsed)
	}

	// The caller's deadline wins when it is shorter than the timeout.
	r2, srv2 := newResolver(t, resolver.Options{Timeout: 5 * time.Second})
	srv2.Drop("silent.example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = r2.LookupTXT(ctx, "silent.example.com")
	if !resolver.IsTemporary(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want deadline exceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("lookup took %v past a 100ms deadline", elapsed)
	}
}

func TestLookup_ConcurrentQueriesCoalesced(t *testing.T) {
	r, srv := newResolver(t, resolver.Options{})
	srv.AddTXT("slow.example.com", 300, "shared")
	srv.Delay("slow.example.com", 200*time.Millisecond)
	ctx := testContext(t)

	// One impatient caller gives up; the others still get the answer.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			c := ctx
			if i == 0 {
				c = short
			}
			_, errs[i] = r.LookupTXT(c, "slow.example.com")
		})
	}
	wg.Wait()

	if !resolver.IsTemporary(errs[0]) {
		t.Errorf("impatient caller: error = %v, want temporary", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("caller %d: %v", i+1, err)
		}
	}
	if n := srv.Queries("slow.example.com", dns.TypeTXT); n != 1 {
		t.Errorf("server asked %d times, want 1", n)
	}
}
