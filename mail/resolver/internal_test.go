package resolver

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestNegativeTTL_SOA(t *testing.T) {
	soa := func(ttl, minimum uint32) *dns.Msg {
		m := new(dns.Msg)
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Rrtype: dns.TypeSOA, Ttl: ttl}, Minttl: minimum}}
		return m
	}
	tests := []struct {
		name string
		msg  *dns.Msg
		want time.Duration
	}{
		{"NoSOA", new(dns.Msg), 60 * time.Second},
		{"Minimum", soa(300, 30), 30 * time.Second},
		{"SOATTLSmaller", soa(10, 300), 10 * time.Second},
		{"Capped", soa(86400, 86400), 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negativeTTL(tt.msg); got != tt.want {
				t.Errorf("negativeTTL = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnescapeTXT_PresentationEscapes(t *testing.T) {
	tests := map[string][]string{
		"plain":           {"plain"},
		"joined strings":  {"joined ", "strings"},
		`a"b\c`:           {`a\"b\\c`},
		"x\x01y\xffz":     {`x\001y\255z`},
		"trailing\\":      {`trailing\`},
		"k=v; p=MIIB+/==": {"k=v; p=MIIB", "+/=="},
	}
	for want, parts := range tests {
		if got := unescapeTXT(parts); got != want {
			t.Errorf("unescapeTXT(%q) = %q, want %q", parts, got, want)
		}
	}
}
