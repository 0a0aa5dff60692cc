package netlimit

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Options configure a Listener. Zero limits mean no limit.
type Options struct {
	// Max is the most connections open at once.
	Max int
	// PerIP is the most connections open at once from one client address.
	PerIP int
	// Trusted reports whether a client address is exempt from PerIP; nil
	// trusts nobody.
	Trusted func(netip.Addr) bool
	// Refuse writes the protocol's refusal to a connection over a limit,
	// before it is closed; reason is a short sentence for the client.
	// It runs on its own goroutine with a 5-second write deadline.
	Refuse func(c net.Conn, reason string)
	// Refused, when set, is told of every refused connection, for the log.
	Refused func(ip netip.Addr, reason string)
	// MaxIdle caps every read deadline set on an accepted connection to at
	// most this far ahead, and sets one when none is set.
	MaxIdle time.Duration
}

// Listener admits connections within its Options.
type Listener struct {
	net.Listener
	opts Options

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

// Reasons given to a refused client.
const (
	ReasonTotal = "Too many connections, try again later"
	ReasonPerIP = "Too many connections from your address, try again later"
)

// New wraps l.
func New(l net.Listener, o Options) *Listener {
	return &Listener{Listener: l, opts: o, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := RemoteIP(c)
		if reason := l.admit(ip); reason != "" {
			go l.turnAway(c, ip, reason)
			continue
		}
		lc := &conn{Conn: c, maxIdle: l.opts.MaxIdle, release: func() { l.release(ip) }}
		if lc.maxIdle > 0 {
			_ = lc.SetReadDeadline(time.Time{})
		}
		return lc, nil
	}
}

// Open returns the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// admit counts a connection from ip in, or says why it may not come in.
func (l *Listener) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.Max > 0 && l.total >= l.opts.Max {
		return ReasonTotal
	}
	trusted := l.opts.Trusted != nil && l.opts.Trusted(ip)
	if l.opts.PerIP > 0 && l.byIP[ip] >= l.opts.PerIP && !trusted {
		return ReasonPerIP
	}
	l.total++
	l.byIP[ip]++
	return ""
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// turnAway refuses c, without waiting long on a client that does not read.
func (l *Listener) turnAway(c net.Conn, ip netip.Addr, reason string) {
	if l.opts.Refuse != nil {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		l.opts.Refuse(c, reason)
	}
	_ = c.Close()
	if l.opts.Refused != nil {
		l.opts.Refused(ip, reason)
	}
}

// conn gives its slot back once, when closed, and caps read deadlines.
type conn struct {
	net.Conn
	maxIdle time.Duration
	once    sync.Once
	release func()
}

// Close implements net.Conn.
func (c *conn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// SetReadDeadline implements net.Conn, keeping t within MaxIdle.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.maxIdle > 0 {
		if limit := time.Now().Add(c.maxIdle); t.IsZero() || t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline implements net.Conn, keeping the read side within MaxIdle.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// RemoteIP returns the client's address without port, IPv4 unmapped, or
// the zero Addr when c's remote address is not an IP address.
func RemoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
