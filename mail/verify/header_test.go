package verify_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"

	"github.com/lightr-mail/lightr/mail/verify"
)

// checkHeader checks that res.Header is one well-formed, folded
// Authentication-Results field that authres parses back into the results
// of res.
func checkHeader(tb testing.TB, res verify.Result) {
	tb.Helper()
	h := res.Header
	if !strings.HasPrefix(h, "Authentication-Results: ") || !strings.HasSuffix(h, "\r\n") {
		tb.Fatalf("header not a CRLF-terminated Authentication-Results field: %q", h)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if len(line) > 78 {
			tb.Errorf("header line longer than 78: %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			tb.Errorf("bare CR or LF in header line %q", line)
		}
	}

	parsed, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(h + "\r\n")))
	if err != nil || parsed.Len() != 1 {
		tb.Fatalf("header does not parse as one field (%v): %q", err, h)
	}
	id, results, err := authres.Parse(parsed.Get("Authentication-Results"))
	if err != nil {
		tb.Fatalf("authres.Parse: %v\n%s", err, h)
	}
	if id != authServID && id != verify.DefaultAuthServID {
		tb.Errorf("authserv-id = %q", id)
	}

	var spf, dmarc []string
	dkim := map[string]bool{}
	for _, r := range results {
		switch r := r.(type) {
		case *authres.SPFResult:
			spf = append(spf, string(r.Value))
			if r.From != res.SPFDomain && r.Helo != res.SPFDomain {
				tb.Errorf("spf identity %q/%q, want %q", r.From, r.Helo, res.SPFDomain)
			}
		case *authres.DKIMResult:
			dkim[string(r.Value)] = true
		case *authres.DMARCResult:
			dmarc = append(dmarc, string(r.Value))
			if r.From != res.FromDomain {
				tb.Errorf("dmarc header.from %q, want %q", r.From, res.FromDomain)
			}
		default:
			tb.Errorf("unexpected result %T", r)
		}
	}
	if len(spf) != 1 || spf[0] != res.SPF {
		tb.Errorf("spf results %v, want [%s]\n%s", spf, res.SPF, h)
	}
	if !dkim[res.DKIM] {
		tb.Errorf("dkim results %v do not include %s\n%s", dkim, res.DKIM, h)
	}
	if len(dmarc) != 1 || dmarc[0] != res.DMARC {
		tb.Errorf("dmarc results %v, want [%s]\n%s", dmarc, res.DMARC, h)
	}
}

func TestHeader_Format(t *testing.T) {
	f := newFixture(t)
	rsaKey, _ := keys(t)
	raw := signGo(t, message("alice@example.com", body), "example.com", "rsa", rsaKey)
	res := f.v.Verify(context.Background(), verify.Input{
		RemoteIP: net.ParseIP("127.0.0.1"), MailFrom: "alice@example.com", Raw: raw,
	})

	want := "Authentication-Results: mx.lightr.test;\r\n" +
		"\tspf=pass smtp.mailfrom=example.com;\r\n" +
		"\tdkim=pass header.d=example.com;\r\n" +
		"\tdmarc=pass header.from=example.com\r\n"
	if res.Header != want {
		t.Errorf("header:\n%q\nwant:\n%q", res.Header, want)
	}
}

func TestHeader_HostileInputCannotInject(t *testing.T) {
	f := newFixture(t)
	f.v.AuthServID = "mx.lightr.test\r\nX-Injected: 1"
	res := f.v.Verify(context.Background(), verify.Input{
		RemoteIP: net.ParseIP("127.0.0.1"),
		Helo:     "evil\r\nX-Injected: 2",
		MailFrom: "",
		Raw:      message("a@example.com", body),
	})
	if strings.Contains(res.Header, "X-Injected") && strings.Contains(res.Header, "\nX-Injected") {
		t.Fatalf("header injection: %q", res.Header)
	}
	parsed, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(res.Header + "\r\n")))
	if err != nil || parsed.Len() != 1 {
		t.Fatalf("header does not parse as one field (%v): %q", err, res.Header)
	}
}
