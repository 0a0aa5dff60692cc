package verify

import (
	"context"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"

	"github.com/lightr-mail/lightr/mail/resolver"
)

// The Resolver is handed to the SPF library as its DNS client.
var _ spf.DNSResolver = (*resolver.Resolver)(nil)

// spfOutcome is the SPF result and what it was about.
type spfOutcome struct {
	result string
	domain string // the domain checked, lower case, no trailing dot
	helo   bool   // the HELO identity was checked (null sender)
	reason string
}

// checkSPF checks the MAIL FROM identity of in, or its HELO identity for the
// null sender or a sender without a domain (RFC 7208 §2.4).
func (v *Verifier) checkSPF(ctx context.Context, in Input) spfOutcome {
	out := spfOutcome{domain: normalizeDomain(in.Helo), helo: true}
	if at := strings.LastIndexByte(in.MailFrom, '@'); at >= 0 && at < len(in.MailFrom)-1 {
		out.domain, out.helo = normalizeDomain(in.MailFrom[at+1:]), false
	}

	// An identity that is not a domain name, such as a HELO address
	// literal, has no SPF record to look for (RFC 7208 §2.3, §4.3).
	if !isHostname(out.domain) {
		out.result, out.reason = ResultNone, "no domain to check"
		return out
	}
	if v.Resolver == nil {
		out.result, out.reason = ResultTempError, "no resolver"
		return out
	}

	sender := in.MailFrom
	if out.helo {
		sender = "postmaster@" + out.domain
	}
	res, err := spf.CheckHostWithSender(in.RemoteIP, normalizeDomain(in.Helo), sender,
		spf.WithResolver(v.Resolver), spf.WithContext(ctx))
	out.result = string(res)
	if res == spf.PermError && err != nil {
		out.reason = libraryReason(err)
	}
	return out
}

// normalizeDomain lower-cases a domain and drops a trailing dot.
func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// isHostname reports whether d looks like a DNS host name: dot-separated
// labels of letters, digits, hyphens and underscores, at most 253 bytes, and
// not an IP address.
func isHostname(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// libraryReason turns an error of the SPF, DKIM or DMARC library into a short
// reason for the header: the part before any detail (which may name our DNS
// server), without the library's prefix.
func libraryReason(err error) string {
	s := err.Error()
	for _, prefix := range []string{"dkim: ", "dmarc: "} {
		s = strings.TrimPrefix(s, prefix)
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}
