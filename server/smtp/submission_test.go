package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	lightrdkim "github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/server/smtp"
)

// submitted returns a small CRLF message from alice to the given To.
func submitted(from, to, subject string) string {
	return "From: Alice <" + from + ">\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"\r\n" +
		"Hello,\r\nthis is the body.\r\n"
}

func wantPrefix(t *testing.T, what, got, prefix string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("%s: reply %q, want %q…", what, got, prefix)
	}
}

// TestSubmission_QueuesOnce submits with go-smtp's client over STARTTLS
// and AUTH PLAIN, and reads back what was queued.
func TestSubmission_QueuesOnce(t *testing.T) {
	e := startSubmission(t, nil)
	c, err := gosmtp.DialStartTLS(e.addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test cert
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello("laptop.example.org"); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("after STARTTLS: AUTH %v %q, want PLAIN LOGIN", ok, mechs)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", password)); err != nil {
		t.Fatal(err)
	}
	to := []string{"bob@remote.example", "Carol@Remote.Example", "bob@remote.example", "alice@example.test"}
	if err := c.SendMail("alice@example.test", to,
		strings.NewReader(submitted("alice@example.test", "bob@remote.example", "Quarterly"))); err != nil {
		t.Fatal(err)
	}

	ms := e.outbound()
	if len(ms) != 1 {
		t.Fatalf("%d messages queued, want 1", len(ms))
	}
	m := ms[0]
	want := []string{"Carol@remote.example", "alice@example.test", "bob@remote.example"}
	if diff := cmp.Diff(want, recipients(m)); diff != "" {
		t.Errorf("recipients (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.queuedEvents(m)); diff != "" {
		t.Errorf("message.queued events (-want +got):\n%s", diff)
	}
	if m.MailFrom != "alice@example.test" || m.Source != "submission" || m.Subject != "Quarterly" ||
		m.AccountID != e.alice.ID || m.DomainID != e.domain.ID || m.OrganizationID != e.org.ID {
		t.Errorf("queued %+v", m)
	}
	if e.wakes.Load() != 1 {
		t.Errorf("workers woken %d times, want 1", e.wakes.Load())
	}

	raw := e.rawOf(m)
	for _, wantIn := range []string{
		"Received: from laptop.example.org ([127.0.0.1])\r\n\tby mx.example.test (Lightr) with ESMTPSA id ",
		"\r\nMessage-ID: <" + m.MessageIDHeader + ">\r\n",
		"\r\nDate: ",
	} {
		if !strings.Contains(raw, wantIn) {
			t.Errorf("queued message lacks %q:\n%s", wantIn, raw)
		}
	}
	if !strings.HasSuffix(m.MessageIDHeader, "@mx.example.test") {
		t.Errorf("added Message-ID %q", m.MessageIDHeader)
	}
	for _, notIn := range []string{"Return-Path", "alice@example.test)", "Authentication-Results"} {
		if strings.Contains(raw, notIn) {
			t.Errorf("queued message holds %q:\n%s", notIn, raw)
		}
	}
}

func TestSubmission_KeepsClientMessageIDAndDate(t *testing.T) {
	e := startSubmission(t, nil)
	c := e.session()
	wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 2.0.0")
	body := "From: alice@example.test\r\nMessage-Id: <own@laptop>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
		"\r\nhi\r\n"
	wantPrefix(t, "data", c.submit("alice@example.test", []string{"bob@remote.example"}, body), "250 ")
	m := e.outbound()[0]
	raw := e.rawOf(m)
	if m.MessageIDHeader != "own@laptop" || strings.Count(raw, "Date:") != 1 ||
		strings.Count(strings.ToLower(raw), "message-id:") != 1 {
		t.Errorf("Message-ID %q in:\n%s", m.MessageIDHeader, raw)
	}
	if !strings.Contains(raw, "\tfor <bob@remote.example>; ") {
		t.Errorf("Received lacks the one recipient:\n%s", raw)
	}
}

func TestSubmission_AuthLogin(t *testing.T) {
	e := startSubmission(t, nil)
	c := e.session()
	c.send("AUTH LOGIN\r\n")
	c.expect("334 VXNlcm5hbWU6") // "Username:"
	c.send("YWxpY2VAZXhhbXBsZS50ZXN0\r\n")
	c.expect("334 UGFzc3dvcmQ6") // "Password:"
	c.send("c2VjcmV0LXBhc3N3b3JkLTE=\r\n")
	c.expect("235 2.0.0")

	// The user name may come as the initial response.
	c = e.session()
	c.send("AUTH LOGIN YWxpY2VAZXhhbXBsZS50ZXN0\r\n")
	c.expect("334 UGFzc3dvcmQ6")
	c.send("d3Jvbmc=\r\n")
	c.expect("535 5.7.8")
}

func TestSubmission_Refusals(t *testing.T) {
	e := startSubmission(t, nil)
	e.account("bob")
	msg := submitted("alice@example.test", "x@remote.example", "s")

	t.Run("mail before auth", func(t *testing.T) {
		c := e.session()
		c.send("MAIL FROM:<alice@example.test>\r\n")
		c.expect("530 5.7.0")
	})
	t.Run("auth before starttls", func(t *testing.T) {
		c := e.dial()
		c.expect("220 ")
		c.send("EHLO client.example.org\r\n")
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(line, "AUTH") {
				t.Errorf("AUTH advertised before STARTTLS: %q", line)
			}
			if strings.HasPrefix(line, "250 ") {
				break
			}
		}
		c.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQtcGFzc3dvcmQtMQ==\r\n")
		c.expect("538 5.7.11")
		c.send("MAIL FROM:<alice@example.test>\r\n")
		c.expect("530 5.7.0")
	})
	t.Run("wrong password", func(t *testing.T) {
		wantPrefix(t, "auth", e.session().authPlain("alice@example.test", "nope"), "535 5.7.8")
	})
	t.Run("unknown user", func(t *testing.T) {
		wantPrefix(t, "auth", e.session().authPlain("nobody@example.test", password), "535 5.7.8")
	})
	t.Run("another user's identity", func(t *testing.T) {
		c := e.session()
		c.send("AUTH PLAIN Ym9iQGV4YW1wbGUudGVzdABhbGljZUBleGFtcGxlLnRlc3QAc2VjcmV0LXBhc3N3b3JkLTE=\r\n")
		c.expect("535 5.7.8")
	})
	tests := []struct{ name, from, body, want string }{
		{"another account's address", "bob@example.test", msg, "550 5.7.1"},
		{"a foreign domain", "alice@remote.example", msg, "550 5.7.1"},
		{"null sender", "", msg, "550 5.7.1"},
		{"From header of another account", "alice@example.test",
			submitted("bob@example.test", "x@remote.example", "s"), "550 5.7.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.session()
			wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 ")
			wantPrefix(t, "submit", c.submit(tc.from, []string{"x@remote.example"}, tc.body), tc.want)
		})
	}
	t.Run("unknown local recipient", func(t *testing.T) {
		c := e.session()
		wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 ")
		wantPrefix(t, "rcpt", c.submit("alice@example.test", []string{"ghost@example.test"}, msg), "550 5.1.1")
	})
	if n := len(e.outbound()); n != 0 {
		t.Errorf("%d messages queued by refused sessions", n)
	}
}

func TestSubmission_AliasesAndTags(t *testing.T) {
	e := startSubmission(t, nil)
	e.account("bob")
	e.alias("sales", "alice@example.test", "bob@example.test")
	e.alias("billing", "bob@example.test")
	// An alias of another organization that names alice is not hers.
	_, rival := e.otherOrg("rival")
	if _, err := directory.CreateAlias(viewer.AdminContext(context.Background()), e.db.Client,
		ent.CreateAliasInput{DomainID: rival.ID, LocalPart: "ceo", Destinations: []string{"alice@example.test"}},
	); err != nil {
		t.Fatal(err)
	}
	c := e.session()
	wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 ")
	for from, want := range map[string]string{
		"sales@example.test":      "250 ",
		"alice+news@example.test": "250 ",
		"ALICE@Example.Test":      "250 ",
		"billing@example.test":    "550 5.7.1",
		"ceo@rival.test":          "550 5.7.1",
	} {
		wantPrefix(t, from, c.submit(from, []string{"x@remote.example"}, submitted(from, "x@remote.example", from)),
			want)
	}
	if n := len(e.outbound()); n != 3 {
		t.Errorf("%d messages queued, want 3", n)
	}
}

func TestSubmission_APIKey(t *testing.T) {
	e := startSubmission(t, nil)
	key := e.apiKey(e.org.ID, "send")
	other, _ := e.otherOrg("rival")
	otherKey := e.apiKey(other.ID, "send", "write")

	// Any address at a domain of the key's organization.
	c := e.session()
	wantPrefix(t, "auth", c.authPlain("apikey", key), "235 ")
	body := submitted("news@example.test", "x@remote.example", "Newsletter")
	wantPrefix(t, "own domain", c.submit("news@example.test", []string{"x@remote.example"}, body), "250 ")
	wantPrefix(t, "other org's domain", c.submit("news@rival.test", []string{"x@remote.example"},
		submitted("news@rival.test", "x@remote.example", "s")), "550 5.7.1")

	ms := e.outbound()
	if len(ms) != 1 || ms[0].AccountID != "" || ms[0].OrganizationID != e.org.ID {
		t.Fatalf("queued %d messages: %+v", len(ms), ms)
	}

	// The other organization's key cannot use this one's domains.
	c = e.session()
	wantPrefix(t, "auth", c.authPlain("apikey", otherKey), "235 ")
	wantPrefix(t, "foreign", c.submit("news@example.test", []string{"x@remote.example"}, body), "550 5.7.1")

	// A key without the send scope, and an unknown key.
	readOnly := e.apiKey(e.org.ID, "read")
	wantPrefix(t, "read-only key", e.session().authPlain("apikey", readOnly), "535 5.7.8")
	wantPrefix(t, "unknown key", e.session().authPlain("apikey", "lr_"+strings.Repeat("a", 52)), "535 5.7.8")
}

func TestSubmission_Throttle(t *testing.T) {
	e := startSubmission(t, func(o *smtp.SubmissionOptions) { o.MaxAuthFailures = 2 })
	for range 2 {
		wantPrefix(t, "bad", e.session().authPlain("alice@example.test", "wrong"), "535 5.7.8")
	}
	// Blocked now, even with the right password.
	wantPrefix(t, "blocked", e.session().authPlain("alice@example.test", password), "454 4.7.0")
}

func TestSubmission_Limits(t *testing.T) {
	e := startSubmission(t, func(o *smtp.SubmissionOptions) {
		o.MaxRecipients = 2
		o.MaxMessageBytes = 1000
	})
	c := e.session()
	wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 ")
	msg := submitted("alice@example.test", "x@remote.example", "s")
	wantPrefix(t, "rcpts", c.submit("alice@example.test",
		[]string{"a@remote.example", "b@remote.example", "c@remote.example"}, msg), "452 4.5.3")
	c.send("RSET\r\n")
	c.expect("250 ")
	wantPrefix(t, "size", c.submit("alice@example.test", []string{"a@remote.example"},
		msg+strings.Repeat("x", 1000)+"\r\n"), "552 5.3.4")
	wantPrefix(t, "bare LF", c.submit("alice@example.test", []string{"a@remote.example"},
		"From: alice@example.test\r\n\r\nbare\nline\r\n"), "554 5.5.2")
}

func TestSubmission_ImplicitTLS(t *testing.T) {
	e := startSubmission(t, nil)
	c := e.dialTLS()
	c.hello()
	wantPrefix(t, "auth", c.authPlain("alice@example.test", password), "235 ")
	wantPrefix(t, "data", c.submit("alice@example.test", []string{"x@remote.example"},
		submitted("alice@example.test", "x@remote.example", "465")), "250 ")
	if ms := e.outbound(); len(ms) != 1 || ms[0].Subject != "465" {
		t.Fatalf("queued %v", ms)
	}
}

func TestSubmission_DisabledAccount(t *testing.T) {
	e := startSubmission(t, nil)
	ctx := viewer.AdminContext(context.Background())
	if err := e.db.Client.Account.UpdateOne(e.alice).SetDisabled(true).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	wantPrefix(t, "auth", e.session().authPlain("alice@example.test", password), "525 5.7.13")
}

// TestSubmission_GoSMTPClientErrors checks that a real client sees the
// codes, not just the raw lines.
func TestSubmission_GoSMTPClientErrors(t *testing.T) {
	e := startSubmission(t, nil)
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	err = c.Mail("alice@example.test", nil)
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 530 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 0}) {
		t.Fatalf("MAIL before AUTH: %v", err)
	}
}

// TestSubmission_Signing: the mail of a domain with a DKIM key is signed
// as it is queued, and the stored signature verifies over the stored
// bytes; a message DKIM cannot sign (no From field) is refused for good,
// 554 5.6.0, rather than answered 451 and retried by the client forever.
func TestSubmission_Signing(t *testing.T) {
	e := startSubmission(t, nil)
	key, err := directory.AddDKIMKey(viewer.AdminContext(context.Background()), e.db.Client, e.domain,
		"s1", "rsa", 1024)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gosmtp.DialStartTLS(e.addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test cert
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", password)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.test", []string{"bob@remote.example"},
		strings.NewReader(submitted("alice@example.test", "bob@remote.example", "Signed"))); err != nil {
		t.Fatal(err)
	}
	ms := e.outbound()
	if len(ms) != 1 || ms[0].DkimSignature == "" || !strings.HasPrefix(ms[0].DkimSelectors, "s1:") {
		t.Fatalf("queued %d messages; signature %q, keys %q", len(ms), ms[0].DkimSignature, ms[0].DkimSelectors)
	}
	signed := ms[0].DkimSignature + e.rawOf(ms[0])
	verifs, err := msgdkim.VerifyWithOptions(strings.NewReader(signed), &msgdkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) {
			return []string{lightrdkim.RecordValue(string(key.Algorithm), key.PublicKey)}, nil
		},
	})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Fatalf("stored signature: %v %+v", err, verifs)
	}

	noFrom := "To: bob@remote.example\r\nSubject: no From\r\n\r\nbody\r\n"
	err = c.SendMail("alice@example.test", []string{"bob@remote.example"}, strings.NewReader(noFrom))
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 554 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 6, 0}) {
		t.Fatalf("a message without From: %v, want 554 5.6.0", err)
	}
	if n := len(e.outbound()); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
}
