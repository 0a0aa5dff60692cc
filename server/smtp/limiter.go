package smtp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// limitListener admits at most max connections in total and perIP from one
// client address. A connection over a limit gets a 421 greeting and is
// closed (RFC 5321 §3.8), so the client retries later instead of waiting
// for a server that will not answer.
type limitListener struct {
	net.Listener
	max, perIP int
	trusted    func(netip.Addr) bool
	hostname   string
	rejected   func(ip netip.Addr, reason string)

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

func newLimitListener(l net.Listener, o *Options) *limitListener {
	return &limitListener{
		Listener: l,
		max:      o.MaxConnections,
		perIP:    o.MaxConnectionsPerIP,
		trusted:  o.isTrusted,
		hostname: o.Hostname,
		byIP:     map[netip.Addr]int{},
	}
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if reason := l.admit(ip); reason != "" {
			go l.turnAway(c, ip, reason)
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

// admit counts c in, or says why it may not come in.
func (l *limitListener) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max {
		return "Too many connections, try again later"
	}
	if l.perIP > 0 && l.byIP[ip] >= l.perIP && !l.trusted(ip) {
		return "Too many connections from your address, try again later"
	}
	l.total++
	l.byIP[ip]++
	return ""
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// turnAway answers 421 and closes c, without waiting long on a client that
// does not read.
func (l *limitListener) turnAway(c net.Conn, ip netip.Addr, reason string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("421 4.7.0 " + l.hostname + " " + reason + "\r\n"))
	_ = c.Close()
	if l.rejected != nil {
		l.rejected(ip, reason)
	}
}

// limitedConn gives its slot back once, when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// remoteIP returns the client's address without port, IPv4 unmapped.
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
