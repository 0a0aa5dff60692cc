package resolver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// udpSize is the EDNS0 buffer size offered over UDP: 1232 bytes fits an IPv6
// packet without fragmentation (the DNS Flag Day 2020 recommendation); larger
// answers come back truncated and are asked again over TCP.
const udpSize = 1232

// maxCNAMEs bounds how many CNAME records an answer may chain through.
const maxCNAMEs = 8

// exchange asks the servers in order until one gives a usable answer
// (NOERROR or NXDOMAIN). It returns the answer and the server that gave it,
// or a temporary *net.DNSError carrying the last failure.
func (r *Resolver) exchange(
	ctx context.Context,
	fqdn string,
	qtype uint16,
) (*dns.Msg, string, error) {
	var lastErr error
	var lastServer string
	for _, server := range r.servers {
		m, err := r.exchangeOne(ctx, server, fqdn, qtype)
		if err == nil {
			return m, server, nil
		}
		lastErr, lastServer = err, server
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastServer, temporaryError(fqdn, lastServer, lastErr)
}

// exchangeOne asks one server, within r.timeout, over UDP and then over TCP
// if the UDP answer was truncated (RFC 7766 §5).
func (r *Resolver) exchangeOne(
	ctx context.Context,
	server, fqdn string,
	qtype uint16,
) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	q := new(dns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.SetEdns0(udpSize, false)

	m, err := r.roundTrip(ctx, q, server)
	if err == nil && m.Rcode == dns.RcodeFormatError {
		// A server that does not know EDNS answers FORMERR; RFC 6891 §7
		// has the client ask again without the OPT record.
		q.Extra = nil
		m, err = r.roundTrip(ctx, q, server)
	}
	if err != nil {
		return nil, err
	}

	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return m, nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrServerFailure, rcodeName(m.Rcode))
	}
}

// roundTrip sends q to server over UDP, then over TCP when the answer is
// truncated, and checks that the answer is for q.
func (r *Resolver) roundTrip(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	m, _, err := r.udp.ExchangeContext(ctx, q, server)
	if err == nil && m.Truncated {
		m, _, err = r.tcp.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", server, err)
	}
	if err := checkResponse(q, m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkResponse makes sure m answers q: miekg/dns matches the message ID, and
// the question must match too, so that a stray or spoofed packet with a
// guessed ID is not taken for an answer (RFC 5452 §9.1).
func checkResponse(q, m *dns.Msg) error {
	if !m.Response || len(m.Question) != 1 {
		return fmt.Errorf("%w: not an answer to one question", ErrBadResponse)
	}
	got, want := m.Question[0], q.Question[0]
	if !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype ||
		got.Qclass != want.Qclass {
		return fmt.Errorf("%w: answer for another question", ErrBadResponse)
	}
	return nil
}

// interpret turns a NOERROR or NXDOMAIN answer for (fqdn, qtype) into an
// answer and how long it may be cached. The records kept are those of type
// qtype owned by fqdn or by the end of a CNAME chain that starts there
// (RFC 1034 §3.6.2); everything else in the answer section is ignored.
func interpret(
	m *dns.Msg,
	fqdn string,
	qtype uint16,
	server string,
) (answer, time.Duration, error) {
	if m.Rcode == dns.RcodeNameError {
		return answer{cause: ErrNXDomain, server: server}, negativeTTL(m), nil
	}

	var chain []dns.RR
	target := fqdn
	for range maxCNAMEs + 1 {
		var rrs []dns.RR
		var cname *dns.CNAME
		for _, rr := range m.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, target) {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
			} else if c, ok := rr.(*dns.CNAME); ok && cname == nil {
				cname = c
			}
		}
		switch {
		case len(rrs) > 0:
			return answer{rrs: rrs, server: server}, positiveTTL(rrs, chain), nil
		case cname == nil:
			return answer{cause: ErrNoData, server: server}, negativeTTL(m), nil
		}
		chain = append(chain, cname)
		target = cname.Target
	}
	return answer{}, 0, temporaryError(fqdn, server,
		fmt.Errorf("%w: more than %d CNAMEs", ErrBadResponse, maxCNAMEs))
}

// rcodeName names an RCODE for error messages.
func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
