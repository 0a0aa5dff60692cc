// Package resolver is Lightr's DNS client: every part of the server that asks
// DNS (sender authentication of inbound mail, the MX lookup of outbound
// delivery) goes through one *Resolver.
//
// A Resolver sends its queries with github.com/miekg/dns to one configured
// server or to the servers of /etc/resolv.conf, over UDP with a retry over TCP
// when an answer comes back truncated (RFC 1035 §4.2.1, RFC 7766 §5). Names
// are always absolute: the search list of resolv.conf is not applied, because
// every name that mail asks for is already a fully qualified domain.
//
// Answers are cached for their TTL (capped at an hour) and negative answers
// (NXDOMAIN and NODATA) for the SOA minimum of the authority section
// (RFC 2308 §5, capped at 15 minutes, 60 seconds without an SOA). The cache
// is bounded and evicts the oldest entry first. Identical queries that are in
// flight at the same time are sent once.
//
// The lookup methods have the signatures of *net.Resolver, and errors are
// always *net.DNSError with IsNotFound, IsTemporary and IsTimeout set the way
// net sets them. That is what blitiri.com.ar/go/spf and go-msgauth expect:
// they classify errors by type assertion, not errors.As, so the error is
// never wrapped. A Resolver therefore satisfies spf.DNSResolver as it is, and
// LookupTXTFunc adapts it to the context-free callbacks of go-msgauth.
package resolver
