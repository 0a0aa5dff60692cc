package resolvertest

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxChase bounds CNAME chasing inside the test zone.
const maxChase = 8

// answer builds the reply to q, counting the question, and says how long to
// wait before sending it. It returns false when the question is to go
// unanswered.
func (s *Server) answer(q *dns.Msg, overUDP bool) (*dns.Msg, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	s.queries[question{name, qq.Qtype}]++
	if !overUDP {
		s.tcp++
	}

	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	m.RecursionAvailable = true

	switch {
	case s.drop[name]:
		return nil, 0, false
	case s.rcodes[name] != 0:
		m.Rcode = s.rcodes[name]
		return m, s.delay[name], true
	case overUDP && s.truncate[name]:
		m.Truncated = true
		return m, s.delay[name], true
	}

	target := name
	for range maxChase {
		rrs, ok := s.records[target]
		if !ok {
			if target == name {
				m.Rcode = dns.RcodeNameError
			}
			break
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qq.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil {
			break
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		target = strings.ToLower(cname.Target)
	}

	if len(m.Answer) == 0 || m.Rcode == dns.RcodeNameError {
		m.Ns = append(m.Ns, s.soa())
	}
	return m, s.delay[name], true
}

// soa is the record sent with negative answers; the caller holds s.mu.
func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.negTTL},
		Ns:      "ns.test.",
		Mbox:    "hostmaster.test.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  s.negTTL,
	}
}
