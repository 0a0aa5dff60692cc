// Command dnsstub is the DNS server of the SMTP acceptance benchmark
// (bench/smtpaccept/run.sh). Lightr verifies SPF, DKIM and DMARC on every
// message, and the benchmark must neither leave the machine nor wait for a
// timeout, so Lightr's dns.resolver points here: a UDP and TCP server on
// loopback that publishes an SPF record authorizing 127.0.0.0/8 and a
// DMARC record (p=none) for the sender's domain, and answers NXDOMAIN,
// with an SOA, for every other name.
//
//	go run ./bench/smtpaccept/dnsstub -addr 127.0.0.1:5353 -domain client.bench.test
//
// It runs until SIGINT or SIGTERM, or until -for has passed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// ttl is the TTL of every record, in seconds. Lightr's resolver caches
// answers, negative ones included, for that long.
const ttl = 300

func main() {
	addr := flag.String("addr", "127.0.0.1:5353", "loopback `host:port` to serve on, UDP and TCP")
	domain := flag.String("domain", "client.bench.test", "sender `domain` that gets SPF and DMARC records")
	limit := flag.Duration("for", time.Hour, "stop after this long")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("dnsstub: -addr %q is not a loopback host:port", *addr)
	}

	z := newZone(*domain)
	servers := []*dns.Server{
		{Addr: *addr, Net: "udp", Handler: z},
		{Addr: *addr, Net: "tcp", Handler: z},
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.ListenAndServe() }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		log.Fatalf("dnsstub: %v", err)
	case <-ctx.Done():
	case <-time.After(*limit):
	}
	for _, s := range servers {
		_ = s.Shutdown()
	}
}

// zone answers from a fixed set of TXT records.
type zone struct {
	txt map[string]string // lower-case absolute name → TXT text
	soa dns.RR
}

func newZone(domain string) *zone {
	d := dns.Fqdn(strings.ToLower(domain))
	soa, err := dns.NewRR(fmt.Sprintf("%s %d IN SOA ns.%s hostmaster.%s 1 3600 600 86400 %d",
		d, ttl, d, d, ttl))
	if err != nil {
		log.Fatalf("dnsstub: %v", err)
	}
	return &zone{
		txt: map[string]string{
			d:             "v=spf1 ip4:127.0.0.0/8 -all",
			"_dmarc." + d: "v=DMARC1; p=none",
		},
		soa: soa,
	}
}

// ServeDNS implements dns.Handler.
func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		text, ok := z.txt[name]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{z.soa}
		case q.Qtype == dns.TypeTXT:
			m.Answer = []dns.RR{&dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
				Txt: []string{text},
			}}
		default:
			m.Ns = []dns.RR{z.soa} // NODATA
		}
	}
	_ = w.WriteMsg(m)
}
