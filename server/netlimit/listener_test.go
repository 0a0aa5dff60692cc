package netlimit_test

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/server/netlimit"
)

// serve accepts on a limited loopback listener, greeting every admitted
// client with "hello", until the test ends.
func serve(t *testing.T, o netlimit.Options) (string, *netlimit.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Refuse = func(c net.Conn, reason string) { _, _ = c.Write([]byte("no " + reason + "\n")) }
	l := netlimit.New(ln, o)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = c.Write([]byte("hello\n"))
				_, _ = bufio.NewReader(c).ReadString('\n') // until the client goes or MaxIdle
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String(), l
}

func greeting(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, strings.TrimSpace(line)
}

func TestListener_PerIPAndTotal(t *testing.T) {
	addr, l := serve(t, netlimit.Options{Max: 3, PerIP: 2})
	a, ga := greeting(t, addr)
	_, gb := greeting(t, addr)
	_, gc := greeting(t, addr)
	if ga != "hello" || gb != "hello" || gc != "no "+netlimit.ReasonPerIP {
		t.Fatalf("greetings %q %q %q", ga, gb, gc)
	}
	_ = a.Close()
	for range 100 { // the slot comes back once the server side closes
		if l.Open() < 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, g := greeting(t, addr); g != "hello" {
		t.Fatalf("after a close: %q", g)
	}
}

func TestListener_TrustedSkipsPerIP(t *testing.T) {
	trusted := netlimit.Networks{netip.MustParsePrefix("127.0.0.0/8")}
	addr, _ := serve(t, netlimit.Options{Max: 3, PerIP: 1, Trusted: trusted.Contains})
	for i := range 3 {
		if _, g := greeting(t, addr); g != "hello" {
			t.Fatalf("connection %d: %q", i, g)
		}
	}
	if _, g := greeting(t, addr); g != "no "+netlimit.ReasonTotal {
		t.Fatalf("over the total: %q", g)
	}
}

// TestListener_MaxIdle: a silent client is cut off after MaxIdle although
// the server set no deadline (or a later one).
func TestListener_MaxIdle(t *testing.T) {
	addr, _ := serve(t, netlimit.Options{MaxIdle: 200 * time.Millisecond})
	c, g := greeting(t, addr)
	if g != "hello" {
		t.Fatal(g)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from an idle connection")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, want about 200ms", d)
	}
}

func TestIDs_Unique(t *testing.T) {
	ids := netlimit.NewIDs()
	seen := map[string]bool{}
	for range 1000 {
		id := ids.Next()
		if seen[id] {
			t.Fatalf("id %s repeated", id)
		}
		seen[id] = true
	}
}
