package outbound_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/lightr-mail/lightr/mail/outbound"
)

func TestDeliver_OneRecipientDeferredOneDelivered(t *testing.T) {
	e := newEnv(t)
	b := &backend{rcptErr: map[string]*smtp.SMTPError{
		"later@example.test": {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Try later"},
	}}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, port, nil), "example.test", "ok@example.test", "later@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	check(t, res.Recipients[1], want{outbound.StatusDeferred, 451, "4.2.1"})
	if r := res.Recipients[1]; r.Response != "Try later" || r.RemoteMX != "mx.example.test" {
		t.Errorf("deferred recipient: response %q, remote MX %q", r.Response, r.RemoteMX)
	}

	got := b.messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	if diff := cmp.Diff([]string{"ok@example.test"}, got[0].rcpts); diff != "" {
		t.Errorf("recipients (-want +got):\n%s", diff)
	}
	if got[0].from != "a@sender.test" || got[0].helo != "client.test" {
		t.Errorf("MAIL FROM %q, EHLO %q", got[0].from, got[0].helo)
	}
	sameBytes(t, got[0].data, testMessage)
}

func TestDeliver_UnknownRecipientBouncedWithoutData(t *testing.T) {
	e := newEnv(t)
	b := &backend{rcptErr: map[string]*smtp.SMTPError{
		"nobody@example.test": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
	}}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, port, nil), "example.test", "nobody@example.test")
	check(t, res.Recipients[0], want{outbound.StatusBounced, 550, "5.1.1"})
	if n := len(b.messages()); n != 0 {
		t.Errorf("server got %d messages, want none", n)
	}
}

func TestDeliver_DataRejectedBouncesAll(t *testing.T) {
	e := newEnv(t)
	b := &backend{dataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Spam"}}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test", "b@example.test")
	for _, r := range res.Recipients {
		check(t, r, want{outbound.StatusBounced, 554, "5.7.1"})
	}
}

func TestDeliver_GreetingTempFailFallsOverToNextMX(t *testing.T) {
	e := newEnv(t)
	port := startRaw(t, "127.0.0.1", 0, "421 4.3.2 Busy, try another\r\n")
	b := &backend{}
	startSMTP(t, b, "127.0.0.2", port, nil)
	e.mx(t, "example.test",
		map[string]string{"mx1.example.test": "127.0.0.1", "mx2.example.test": "127.0.0.2"},
		map[string]int{"mx1.example.test": 10, "mx2.example.test": 20})

	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if res.Recipients[0].RemoteMX != "mx2.example.test" || res.Host != "mx2.example.test" {
		t.Errorf("delivered by %q, want mx2.example.test", res.Recipients[0].RemoteMX)
	}
	if len(res.HostErrors) != 1 || res.HostErrors[0].Host != "mx1.example.test" ||
		!strings.Contains(res.HostErrors[0].Outcome, "Busy") {
		t.Errorf("host errors %+v, want mx1's 421", res.HostErrors)
	}
}

func TestDeliver_GreetingRejectionIsFinal(t *testing.T) {
	e := newEnv(t)
	port := startRaw(t, "127.0.0.1", 0, "554 5.7.1 No mail from you\r\n")
	b := &backend{}
	startSMTP(t, b, "127.0.0.2", port, nil)
	e.mx(t, "example.test",
		map[string]string{"mx1.example.test": "127.0.0.1", "mx2.example.test": "127.0.0.2"},
		map[string]int{"mx1.example.test": 10, "mx2.example.test": 20})

	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusBounced, 554, "5.7.1"})
	if n := b.sessionCount(); n != 0 {
		t.Errorf("the second MX was asked %d times after a 5xx from the first", n)
	}
}

func TestDeliver_TimeoutsDefer(t *testing.T) {
	short := func(o *outbound.Options) {
		o.CommandTimeout = 300 * time.Millisecond
		o.DataTimeout = 300 * time.Millisecond
	}
	t.Run("greeting", func(t *testing.T) {
		e := newEnv(t)
		port := startRaw(t, "127.0.0.1", 0, "")
		e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
		res := deliver(t, e.client(t, port, short), "example.test", "a@example.test")
		check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.4.2"})
	})
	t.Run("end of data", func(t *testing.T) {
		e := newEnv(t)
		b := &backend{dataHang: make(chan struct{})}
		t.Cleanup(func() { close(b.dataHang) })
		port := startSMTP(t, b, "127.0.0.1", 0, nil)
		e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
		start := time.Now()
		res := deliver(t, e.client(t, port, short), "example.test", "a@example.test")
		check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.4.2"})
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("Deliver took %v against a hung server", d)
		}
	})
}

func TestDeliver_ConnectionRefusedDefers(t *testing.T) {
	e := newEnv(t)
	port := startRaw(t, "127.0.0.1", 0, "")
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.3"}, nil)
	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.4.1"})
	if res.Recipients[0].RemoteMX != "" {
		t.Errorf("remote MX %q for a connection never made", res.Recipients[0].RemoteMX)
	}
}

func TestDeliver_NoMXFallsBackToAddress(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.dns.Add(t, "example.test. 300 IN A 127.0.0.1")

	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if res.Recipients[0].RemoteMX != "example.test" {
		t.Errorf("remote MX %q, want the domain itself", res.Recipients[0].RemoteMX)
	}
	if len(b.messages()) != 1 {
		t.Error("message not received")
	}
}

func TestDeliver_DNSOutcomes(t *testing.T) {
	e := newEnv(t)
	e.dns.Add(t, "nullmx.test. 300 IN MX 0 .")
	e.dns.Add(t, "nowhere.test. 300 IN TXT \"no mail here\"")
	e.dns.Add(t, "lame.test. 300 IN MX 10 gone.lame.test.")
	e.dns.Fail("servfail.test", dns.RcodeServerFailure)
	e.dns.Add(t, "badmx.test. 300 IN MX 10 mx.badmx.test.")
	e.dns.Fail("mx.badmx.test", dns.RcodeServerFailure)
	e.dns.Add(t, "mixed.test. 300 IN MX 10 mx1.mixed.test.", "mixed.test. 300 IN MX 20 gone.mixed.test.")
	e.dns.Fail("mx1.mixed.test", dns.RcodeServerFailure)
	c := e.client(t, 25, nil)

	for _, tc := range []struct {
		domain string
		want   want
	}{
		{"nullmx.test", want{outbound.StatusBounced, 0, "5.1.10"}},
		{"nxdomain.test", want{outbound.StatusBounced, 0, "5.1.2"}},
		{"nowhere.test", want{outbound.StatusBounced, 0, "5.4.4"}},
		{"lame.test", want{outbound.StatusBounced, 0, "5.4.4"}},
		{"servfail.test", want{outbound.StatusDeferred, 0, "4.4.3"}},
		{"badmx.test", want{outbound.StatusDeferred, 0, "4.4.3"}},
		{"mixed.test", want{outbound.StatusDeferred, 0, "4.4.3"}},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			res := deliver(t, c, tc.domain, "a@"+tc.domain, "b@"+tc.domain)
			for _, r := range res.Recipients {
				check(t, r, tc.want)
				if r.Response == "" {
					t.Errorf("%s: no description", r.Address)
				}
			}
		})
	}
}

func TestDeliver_OpportunisticTLS(t *testing.T) {
	_, _, cert, pool := selfSigned(t, "mx.example.test")
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}

	for _, tc := range []struct {
		name         string
		policy       outbound.TLSPolicy
		trust        bool
		wantVerified bool
	}{
		{"untrusted recorded", outbound.TLSOpportunistic, false, false},
		{"trusted", outbound.TLSRequireVerified, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := &backend{}
			port := startSMTP(t, b, "127.0.0.1", 0, cfg)
			e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
			c := e.client(t, port, func(o *outbound.Options) {
				o.TLS = tc.policy
				if tc.trust {
					o.RootCAs = pool
				}
			})

			res := deliver(t, c, "example.test", "a@example.test")
			r := res.Recipients[0]
			check(t, r, want{outbound.StatusDelivered, 250, "2.0.0"})
			if !r.TLS || r.TLSVersion != "TLS 1.3" || !res.TLS.Used {
				t.Errorf("TLS %v %q, want TLS 1.3", r.TLS, r.TLSVersion)
			}
			if res.TLS.Verified != tc.wantVerified || tc.wantVerified != (res.TLS.VerifyError == "") {
				t.Errorf("verified %v (%q), want %v", res.TLS.Verified, res.TLS.VerifyError, tc.wantVerified)
			}
			got := b.messages()
			if len(got) != 1 || !got[0].tls || got[0].helo != "client.test" {
				t.Fatalf("server got %+v, want one message over TLS after EHLO client.test", got)
			}
			sameBytes(t, got[0].data, testMessage)
		})
	}
}

func TestDeliver_TLSPolicyRefusals(t *testing.T) {
	_, _, cert, _ := selfSigned(t, "mx.example.test")
	for _, tc := range []struct {
		name   string
		policy outbound.TLSPolicy
		cfg    *tls.Config
	}{
		{"no STARTTLS", outbound.TLSRequire, nil},
		{"untrusted certificate", outbound.TLSRequireVerified, &tls.Config{Certificates: []tls.Certificate{cert}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := &backend{}
			port := startSMTP(t, b, "127.0.0.1", 0, tc.cfg)
			e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
			c := e.client(t, port, func(o *outbound.Options) { o.TLS = tc.policy })
			res := deliver(t, c, "example.test", "a@example.test")
			check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.7.5"})
			if len(b.messages()) != 0 {
				t.Error("message sent despite the TLS policy")
			}
		})
	}
}

func TestDeliver_FailedHandshakeRetriesInCleartext(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate today")
	}}
	port := startSMTP(t, b, "127.0.0.1", 0, cfg)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, port, nil), "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if res.Recipients[0].TLS || len(res.HostErrors) != 1 {
		t.Errorf("TLS %v, host errors %+v; want cleartext after one failed handshake",
			res.Recipients[0].TLS, res.HostErrors)
	}
	if got := b.messages(); len(got) != 1 || got[0].tls {
		t.Errorf("server got %+v", got)
	}
}

func TestDeliver_UTF8Envelope(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, port, nil), "example.test", "jörg@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if got := b.messages(); len(got) != 1 || !got[0].utf8 {
		t.Errorf("server got %+v, want MAIL FROM with SMTPUTF8", got)
	}
}

func TestDeliver_Smarthost(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.2"}, nil)
	c := e.client(t, 25, func(o *outbound.Options) {
		o.Smarthost = &outbound.Smarthost{Host: "127.0.0.1", Port: port, TLS: outbound.SmarthostNoTLS}
	})

	res := deliver(t, c, "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if res.Host != "127.0.0.1" || e.dns.TotalQueries() != 0 {
		t.Errorf("host %q after %d DNS queries; want the smarthost and none", res.Host, e.dns.TotalQueries())
	}

	// Credentials are never sent to a server that offers no AUTH.
	c = e.client(t, 25, func(o *outbound.Options) {
		o.Smarthost = &outbound.Smarthost{Host: "127.0.0.1", Port: port, TLS: outbound.SmarthostNoTLS,
			Username: "u", Password: "p"}
	})
	res = deliver(t, c, "example.test", "a@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.7.0"})
}

func TestDeliver_Arguments(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, 25, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		domain, from string
		rcpts        []string
	}{
		{"", "a@b.test", []string{"x@example.test"}},
		{"example.test", "bad\r\nsender@b.test", []string{"x@example.test"}},
		{"example.test", "a@b.test", nil},
	} {
		_, err := c.Deliver(ctx, tc.domain, tc.from, tc.rcpts, testMessage)
		if !errors.Is(err, outbound.ErrInvalidArgument) {
			t.Errorf("Deliver(%q, %q, %q) = %v, want ErrInvalidArgument", tc.domain, tc.from, tc.rcpts, err)
		}
	}

	// A malformed recipient fails alone, without asking DNS.
	res, err := c.Deliver(ctx, "example.test", "", []string{"<evil>\r\nRCPT TO:<x@example.test"}, testMessage)
	if err != nil {
		t.Fatal(err)
	}
	check(t, res.Recipients[0], want{outbound.StatusFailed, 0, "5.1.3"})
	if e.dns.TotalQueries() != 0 {
		t.Error("DNS asked for a delivery with no valid recipient")
	}
}

func TestDeliver_CanceledContext(t *testing.T) {
	e := newEnv(t)
	port := startRaw(t, "127.0.0.1", 0, "")
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
	c := e.client(t, port, func(o *outbound.Options) { o.CommandTimeout = time.Minute })

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := c.Deliver(ctx, "example.test", "a@sender.test", []string{"a@example.test"}, testMessage)
	if !errors.Is(err, context.DeadlineExceeded) || res == nil {
		t.Fatalf("Deliver = %v, %v; want a result and the context's error", res, err)
	}
	check(t, res.Recipients[0], want{outbound.StatusDeferred, 0, "4.4.2"})
}

func TestOptions_LogValueRedactsPassword(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	o := outbound.Options{Smarthost: &outbound.Smarthost{Host: "relay.test", Username: "me", Password: "s3cret"}}
	log.Info("config", "outbound", o, "smarthost", *o.Smarthost)
	if strings.Contains(buf.String(), "s3cret") || !strings.Contains(buf.String(), "relay.test:587") {
		t.Errorf("log line %q", buf.String())
	}
}
