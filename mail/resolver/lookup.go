package resolver

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// LookupTXT returns the TXT records of name, each record's strings joined
// into one (as net.Resolver does, and as RFC 7208 §3.3 and RFC 6376 §3.6.2.2
// require of SPF and DKIM records).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	txts := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			txts = append(txts, unescapeTXT(t.Txt))
		}
	}
	return txts, nil
}

// LookupTXTFunc returns LookupTXT bound to ctx, in the form that
// go-msgauth's dkim.VerifyOptions and dmarc.LookupOptions take.
func (r *Resolver) LookupTXTFunc(ctx context.Context) func(name string) ([]string, error) {
	return func(name string) ([]string, error) {
		return r.LookupTXT(ctx, name)
	}
}

// LookupMX returns the MX records of name sorted by preference, records of
// equal preference in random order (RFC 5321 §5.1). Host names are absolute,
// with the trailing dot. A null MX (RFC 7505) is returned as it is, a single
// record with the host ".".
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	mxs := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		if mx, ok := rr.(*dns.MX); ok {
			mxs = append(mxs, &net.MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return mxs, nil
}

// LookupIPAddr returns the IPv4 and IPv6 addresses of host, asking for A and
// AAAA at the same time; an IP address literal is returned as it is. It
// fails when either question fails temporarily, even if the other one had
// addresses: a partial answer could turn an SPF "a" or "mx" mechanism into a
// false mismatch. It reports not found only when both are negative.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()), Zone: ip.Zone()}}, nil
	}

	type result struct {
		rrs []dns.RR
		err error
	}
	aaaa := make(chan result, 1)
	go func() {
		rrs, err := r.query(ctx, host, dns.TypeAAAA)
		aaaa <- result{rrs, err}
	}()
	rrs4, err4 := r.query(ctx, host, dns.TypeA)
	res6 := <-aaaa

	if err := worseError(err4, res6.err); err != nil {
		return nil, err
	}
	addrs := make([]net.IPAddr, 0, len(rrs4)+len(res6.rrs))
	// The record slices belong to the cache: read them, never append to them.
	for _, rrs := range [][]dns.RR{rrs4, res6.rrs} {
		for _, rr := range rrs {
			switch rr := rr.(type) {
			case *dns.A:
				addrs = append(addrs, net.IPAddr{IP: slices.Clone(rr.A)})
			case *dns.AAAA:
				addrs = append(addrs, net.IPAddr{IP: slices.Clone(rr.AAAA)})
			}
		}
	}
	return addrs, nil
}

// worseError combines the errors of the A and AAAA questions: nil if either
// found addresses and neither failed temporarily, the temporary failure if
// there is one, and otherwise a not-found error (NXDOMAIN before NODATA).
func worseError(err4, err6 error) error {
	switch {
	case IsTemporary(err4):
		return err4
	case IsTemporary(err6):
		return err6
	case err4 == nil || err6 == nil:
		return nil
	case isNXDomain(err6):
		return err6
	default:
		return err4
	}
}

// LookupAddr returns the names that the PTR records of the reverse name of
// addr point to, absolute with the trailing dot (RFC 1035 §3.5, RFC 3596
// §2.5).
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, permanentError(addr, ErrInvalidAddress, false)
	}
	rrs, err := r.query(ctx, rev, dns.TypePTR)
	if err != nil {
		if de, ok := err.(*net.DNSError); ok { //nolint:errorlint // our own, unwrapped
			de.Name = addr
		}
		return nil, err
	}
	names := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok {
			names = append(names, p.Ptr)
		}
	}
	return names, nil
}

// isNXDomain reports whether err is a negative answer saying that the name
// does not exist.
func isNXDomain(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && errors.Is(de.UnwrapErr, ErrNXDomain)
}

// unescapeTXT joins the character-strings of a TXT record and undoes the
// presentation escapes (\" \\ \DDD) that miekg/dns puts in them, so that the
// result is the record's bytes, as net.Resolver returns them.
func unescapeTXT(parts []string) string {
	var b strings.Builder
	for _, s := range parts {
		if !strings.Contains(s, `\`) {
			b.WriteString(s)
			continue
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c != '\\' || i+1 >= len(s) {
				b.WriteByte(c)
				continue
			}
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i+1])
			i++
		}
	}
	return b.String()
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
