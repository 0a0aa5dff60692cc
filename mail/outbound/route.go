package outbound

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/lightr-mail/lightr/mail/resolver"
)

// target is one host to try, with its preference kept for the logs.
type target struct {
	host string // without the trailing dot
	port int
	pref uint16
}

// route returns the hosts to try for domain, in order, or the outcome for
// every recipient when DNS already decides it.
func (c *Client) route(ctx context.Context, domain string) ([]target, *outcome) {
	if sh := c.o.Smarthost; sh != nil {
		return []target{{host: sh.Host, port: sh.port()}}, nil
	}

	mxs, err := c.o.Resolver.LookupMX(ctx, domain)
	switch {
	case err == nil:
	case errors.Is(err, resolver.ErrNoData):
		// RFC 5321 §5.1: without MX records the domain itself is the
		// mail exchanger, with preference 0.
		return []target{{host: trimDot(domain), port: c.o.MXPort}}, nil
	default:
		o := dnsFailure(domain, err)
		return nil, &o
	}

	// RFC 7505 §3: a single MX with the root as its host says the domain
	// takes no mail. A null MX beside real ones breaks §3's rule; the real
	// ones are used then, since that is what the domain evidently wants.
	var targets []target
	for _, mx := range mxs {
		if mx.Host == "." || mx.Host == "" {
			continue
		}
		targets = append(targets, target{host: trimDot(mx.Host), port: c.o.MXPort, pref: mx.Pref})
	}
	if len(targets) == 0 {
		o := local(StatusBounced, "5.1.10", "domain "+domain+" accepts no mail (null MX, RFC 7505)")
		return nil, &o
	}
	return targets, nil
}

// addresses returns the addresses of a target host. An IP address is its
// own answer, without asking DNS.
func (c *Client) addresses(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ips, err := c.o.Resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	addrs := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.IP); ok {
			addrs = append(addrs, a.Unmap())
		}
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// dnsFailure classifies the failure of the MX lookup of domain: a domain
// that does not exist bounces (RFC 3463 X.1.2, bad destination system
// address), anything that may pass defers (X.4.3, directory server
// failure).
func dnsFailure(domain string, err error) outcome {
	if errors.Is(err, resolver.ErrNXDomain) || errors.Is(err, resolver.ErrInvalidName) {
		return local(StatusBounced, "5.1.2", "domain "+domain+" does not exist: "+err.Error())
	}
	return local(StatusDeferred, "4.4.3", "DNS lookup of "+domain+" failed: "+err.Error())
}

// trimDot removes the trailing dot of an absolute name.
func trimDot(name string) string {
	return strings.TrimSuffix(name, ".")
}
