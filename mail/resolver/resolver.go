package resolver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// Defaults for Options.
const (
	// DefaultTimeout bounds one query to one server.
	DefaultTimeout = 5 * time.Second

	// DefaultCacheSize is the number of answers kept.
	DefaultCacheSize = 10000

	// DefaultResolvConf is where the system's resolvers are read from.
	DefaultResolvConf = "/etc/resolv.conf"
)

// Options configures a Resolver. The zero value asks the system's resolvers
// with the default timeout and cache.
type Options struct {
	// Server is the address of the DNS server to ask, "host:port" or just an
	// IP address (port 53). Empty means the nameservers of ResolvConf.
	Server string

	// Timeout bounds one query to one server, a retry over TCP included;
	// zero means DefaultTimeout. With several system nameservers a lookup
	// may take one Timeout per server before it fails.
	Timeout time.Duration

	// CacheSize is the number of answers kept: zero means
	// DefaultCacheSize, negative turns the cache off.
	CacheSize int

	// ResolvConf is the resolv.conf file read when Server is empty; empty
	// means DefaultResolvConf.
	ResolvConf string
}

// Resolver asks DNS servers and caches their answers. It is safe for
// concurrent use.
type Resolver struct {
	servers []string
	timeout time.Duration
	cache   *cache // nil when caching is off
	flights singleflight.Group
	udp     *dns.Client
	tcp     *dns.Client
	now     func() time.Time // the clock of the cache; tests replace it
}

// New returns a Resolver for o. It fails when o.Server is not an IP address
// or when the system configuration cannot be read or names no server.
func New(o Options) (*Resolver, error) {
	servers, err := serversFor(o)
	if err != nil {
		return nil, err
	}

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := &Resolver{
		servers: servers,
		timeout: timeout,
		udp:     &dns.Client{Net: "udp", Timeout: timeout},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
		now:     time.Now,
	}

	switch {
	case o.CacheSize == 0:
		r.cache = newCache(DefaultCacheSize)
	case o.CacheSize > 0:
		r.cache = newCache(o.CacheSize)
	}
	return r, nil
}

// Servers returns the addresses of the servers the Resolver asks, in order.
func (r *Resolver) Servers() []string {
	return append([]string(nil), r.servers...)
}

// serversFor returns the "ip:port" addresses to ask for o.
func serversFor(o Options) ([]string, error) {
	if o.Server != "" {
		addr, err := normalizeServer(o.Server)
		if err != nil {
			return nil, err
		}
		return []string{addr}, nil
	}

	path := o.ResolvConf
	if path == "" {
		path = DefaultResolvConf
	}
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read system resolvers: %w", err)
	}
	var servers []string
	for _, s := range conf.Servers {
		addr, err := normalizeServer(net.JoinHostPort(s, conf.Port))
		if err != nil {
			return nil, fmt.Errorf("read system resolvers from %s: %w", path, err)
		}
		servers = append(servers, addr)
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("read system resolvers: no nameserver in %s", path)
	}
	return servers, nil
}

// normalizeServer turns "ip", "ip:port" or "[ipv6]:port" into "ip:port".
// Host names are refused: the resolver cannot resolve its own server.
func normalizeServer(s string) (string, error) {
	host, port := s, "53"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")

	ip, err := netip.ParseAddr(host)
	if err != nil || port == "" {
		return "", fmt.Errorf("dns server %q: %w", s, ErrBadServer)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// query answers (name, qtype) from the cache or from the servers, coalescing
// concurrent identical questions. It returns the records of type qtype that
// answer name, or a *net.DNSError.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	fqdn, ok := canonicalName(name)
	if !ok {
		return nil, permanentError(name, ErrInvalidName, true)
	}
	key := cacheKey{name: fqdn, qtype: qtype}

	if r.cache != nil {
		if a, ok := r.cache.get(key, r.now()); ok {
			return a.result(name)
		}
	}

	// The shared query runs apart from any one caller's context, so that a
	// caller that gives up does not fail the others; it is bounded by
	// r.timeout per server instead.
	flightKey := fmt.Sprintf("%d/%s", qtype, fqdn)
	ch := r.flights.DoChan(flightKey, func() (any, error) {
		return r.resolve(context.WithoutCancel(ctx), key)
	})

	select {
	case <-ctx.Done():
		return nil, temporaryError(name, "", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			de := copyError(res.Err)
			if d, ok := de.(*net.DNSError); ok { //nolint:errorlint // our own, unwrapped
				d.Name = name
			}
			return nil, de
		}
		return res.Val.(answer).result(name)
	}
}

// resolve asks the servers about key and caches the outcome. Failures are not
// cached: the next lookup asks again.
func (r *Resolver) resolve(ctx context.Context, key cacheKey) (answer, error) {
	m, server, err := r.exchange(ctx, key.name, key.qtype)
	if err != nil {
		return answer{}, err
	}

	a, ttl, err := interpret(m, key.name, key.qtype, server)
	if err != nil {
		return answer{}, err
	}
	if r.cache != nil {
		r.cache.put(key, a, ttl, r.now())
	}
	return a, nil
}

// result returns the records of a, or the not-found error of a negative
// answer, naming the name as the caller spelled it.
func (a answer) result(name string) ([]dns.RR, error) {
	if a.cause != nil {
		return nil, notFoundError(name, a.server, a.cause)
	}
	return a.rrs, nil
}

// canonicalName returns name as a lower-case absolute domain name, and
// whether it is a valid one (RFC 1035 §2.3.4 limits).
func canonicalName(name string) (string, bool) {
	if name == "" || name == "." {
		return "", false
	}
	fqdn := dns.Fqdn(strings.ToLower(name))
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return "", false
	}
	return fqdn, true
}
