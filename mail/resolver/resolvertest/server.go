// Package resolvertest runs a small DNS server on loopback for tests: a zone
// built in the test, served over UDP and TCP on one port, with switches for
// the failures a resolver must handle (SERVFAIL, silence, truncation) and a
// count of the questions it was asked.
package resolvertest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DefaultNegativeTTL is the MINIMUM of the SOA record sent with negative
// answers, in seconds, unless SetNegativeTTL changes it.
const DefaultNegativeTTL = 60

// Server is a DNS server on 127.0.0.1 that answers from records added by the
// test. It follows CNAMEs within its records, answers NXDOMAIN for names it
// has no record for and NODATA for types it has none of, both with an SOA in
// the authority section. It is safe for concurrent use.
type Server struct {
	// Addr is the "127.0.0.1:port" address, the same for UDP and TCP.
	Addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case absolute owner name
	rcodes   map[string]int      // forced RCODE by name
	drop     map[string]bool     // names never answered
	truncate map[string]bool     // names always truncated over UDP
	delay    map[string]time.Duration
	queries  map[question]int
	tcp      int
	negTTL   uint32
}

// question is a counted question.
type question struct {
	name  string
	qtype uint16
}

// Start starts a Server on a free loopback port and stops it when the test
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()

	s := &Server{
		records:  make(map[string][]dns.RR),
		rcodes:   make(map[string]int),
		drop:     make(map[string]bool),
		truncate: make(map[string]bool),
		delay:    make(map[string]time.Duration),
		queries:  make(map[question]int),
		negTTL:   DefaultNegativeTTL,
	}
	pc, l, err := listen()
	if err != nil {
		tb.Fatalf("resolvertest: %v", err)
	}
	s.Addr = pc.LocalAddr().String()

	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: s},
		{Listener: l, Handler: s},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.ShutdownContext(ctx)
		})
	}
	return s
}

// listen opens a UDP socket and a TCP listener on the same loopback port,
// trying a few ports in case the TCP one is taken.
func listen() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		lastErr = err
		_ = pc.Close()
	}
	return nil, nil, fmt.Errorf("listen tcp: %w", lastErr)
}

// Add adds records in zone-file syntax, with absolute owner names, such as
// `example.com. 300 IN MX 10 mx.example.com.`.
func (s *Server) Add(tb testing.TB, records ...string) {
	tb.Helper()
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil || rr == nil {
			tb.Fatalf("resolvertest: record %q: %v", text, err)
		}
		s.AddRR(rr)
	}
}

// AddRR adds parsed records.
func (s *Server) AddRR(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// AddTXT adds one TXT record with the given text, split into character
// strings of at most 255 bytes as RFC 1035 §3.3.14 requires (a DKIM RSA key
// does not fit in one).
func (s *Server) AddTXT(name string, ttl uint32, text string) {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, escapeTXT(text[:255]))
		text = text[255:]
	}
	parts = append(parts, escapeTXT(text))
	s.AddRR(&dns.TXT{
		Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
		Txt: parts,
	})
}

// escapeTXT writes s in the escaped form miekg/dns keeps TXT strings in.
func escapeTXT(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// Remove removes every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, strings.ToLower(dns.Fqdn(name)))
}

// Fail makes every question about name get rcode (dns.RcodeServerFailure,
// for instance); dns.RcodeSuccess undoes it.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = strings.ToLower(dns.Fqdn(name))
	if rcode == dns.RcodeSuccess {
		delete(s.rcodes, name)
		return
	}
	s.rcodes[name] = rcode
}

// Drop makes the server never answer questions about name, so that clients
// time out.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[strings.ToLower(dns.Fqdn(name))] = true
}

// TruncateUDP makes every UDP answer about name come back empty with the TC
// bit set, so that clients must ask again over TCP.
func (s *Server) TruncateUDP(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate[strings.ToLower(dns.Fqdn(name))] = true
}

// Delay makes the server wait d before it answers questions about name.
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[strings.ToLower(dns.Fqdn(name))] = d
}

// SetNegativeTTL sets the SOA MINIMUM, and the SOA's TTL, sent with negative
// answers.
func (s *Server) SetNegativeTTL(seconds uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.negTTL = seconds
}

// Queries returns how many times (name, qtype) was asked, over UDP and TCP.
func (s *Server) Queries(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[question{strings.ToLower(dns.Fqdn(name)), qtype}]
}

// TotalQueries returns how many questions the server was asked in all.
func (s *Server) TotalQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.queries {
		n += c
	}
	return n
}

// TCPQueries returns how many questions came over TCP.
func (s *Server) TCPQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcp
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	if len(q.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	overUDP := isUDP(w.RemoteAddr())
	m, delay, ok := s.answer(q, overUDP)
	if !ok {
		return
	}
	time.Sleep(delay)

	if opt := q.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if overUDP {
		size := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// isUDP reports whether a client address is a UDP one.
func isUDP(a net.Addr) bool {
	_, ok := a.(*net.UDPAddr)
	return ok
}
