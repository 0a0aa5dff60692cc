package smtp_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/smtp"

	"github.com/lightr-mail/lightr/ent"
)

// testMessage returns a small CRLF message.
func testMessage(subject string) string {
	return "From: Bob <bob@sender.example>\r\n" +
		"To: alice@example.test\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@sender.example>\r\n" +
		"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
		"\r\n" +
		"Hello Alice,\r\nthis is the body.\r\n"
}

// deliver sends one message over a raw session and returns the reply to
// the end of DATA.
func (e *env) deliver(from, to, body string) string {
	e.t.Helper()
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<" + from + ">\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<" + to + ">\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "250 ") {
		return r
	}
	c.send("DATA\r\n")
	c.expect("354 ")
	c.send(body + ".\r\n")
	return c.reply()
}

func TestSMTP_DeliversToAccount(t *testing.T) {
	e := start(t, nil, nil)
	r := e.deliver("bob@sender.example", "alice@example.test", testMessage("Hi there"))
	if !strings.HasPrefix(r, "250 2.0.0") {
		t.Fatalf("DATA reply %q", r)
	}
	ms := e.messages(e.alice)
	if len(ms) != 1 {
		t.Fatalf("%d messages stored, want 1", len(ms))
	}
	m := ms[0]
	if m.Subject != "Hi there" || m.FromAddress != "bob@sender.example" ||
		m.Edges.Mailbox.Name != "INBOX" || m.UID != 1 {
		t.Errorf("stored %q from %q in %q uid %d", m.Subject, m.FromAddress, m.Edges.Mailbox.Name, m.UID)
	}
	raw := e.raw(m)
	for _, want := range []string{
		"Return-Path: <bob@sender.example>\r\n",
		"Received: from client.example.org ([127.0.0.1])\r\n\tby mx.example.test (Lightr) with ESMTP id ",
		"\tfor <alice@example.test>; ",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("stored message lacks %q:\n%s", want, raw)
		}
	}
	if !strings.HasSuffix(raw, testMessage("Hi there")) {
		t.Errorf("client's bytes not kept at the end:\n%s", raw)
	}
}

func TestSMTP_RecipientPolicy(t *testing.T) {
	e := start(t, nil, nil)
	ctx := viewer.AdminContext(context.Background())
	bob := e.account("bob")
	if _, err := e.db.Client.Account.UpdateOne(bob).SetDisabled(true).Save(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := directory.CreateAlias(ctx, e.db.Client, ent.CreateAliasInput{
		DomainID: e.domain.ID, LocalPart: "sales", Destinations: []string{"alice@example.test"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rcpt, want string }{
		{"alice@example.test", "250 "},
		{"ALICE@Example.TEST", "250 "},
		{"alice+news@example.test", "250 "},
		{"sales@example.test", "250 "},
		{"nobody@example.test", "550 5.1.1 "},
		{"bob@example.test", "550 5.2.1 "},
		{"someone@elsewhere.example", "554 5.7.1 "},
		{"not-an-address", "501 5.5.2 "},
		{"x@bad_domain.example", "553 5.1.3 "},
		{"\"odd local\"@example.test", "550 5.1.1 "},
	} {
		t.Run(tc.rcpt, func(t *testing.T) {
			c := e.dial()
			c.hello()
			c.send("MAIL FROM:<x@sender.example>\r\nRCPT TO:<" + tc.rcpt + ">\r\n")
			c.expect("250 ")
			c.expect(tc.want)
		})
	}
}

// TestSMTP_LoopbackIsNotTrusted: a client on 127.0.0.1 cannot relay.
func TestSMTP_LoopbackIsNotTrusted(t *testing.T) {
	e := start(t, nil, nil)
	r := e.deliver("alice@example.test", "carol@remote.example", testMessage("relay"))
	if !strings.HasPrefix(r, "554 5.7.1") {
		t.Fatalf("relay attempt got %q", r)
	}
}

func TestSMTP_Oversize(t *testing.T) {
	e := start(t, nil, func(o *smtp.Options) { o.MaxMessageBytes = 2000 })
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example> SIZE=5000\r\n")
	c.expect("552 5.3.4 ")

	big := testMessage("big") + strings.Repeat("0123456789012345678901234567890123456789\r\n", 100)
	if r := e.deliver("x@sender.example", "alice@example.test", big); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("oversize DATA got %q", r)
	}
	if n := len(e.messages(e.alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestSMTP_BareNewlinesRefused covers the SMTP smuggling variants: a
// message whose lines end in anything but CRLF is refused whole, so a
// second message hidden behind a non-standard end-of-data is never
// accepted (CVE-2023-51764).
func TestSMTP_BareNewlinesRefused(t *testing.T) {
	e := start(t, nil, nil)
	smuggled := "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n" +
		"Subject: smuggled\r\n\r\nevil\r\n"
	variants := map[string]string{
		"LF.LF":           "\n.\n",
		"LF.CRLF":         "\n.\r\n",
		"CRLF.LF":         "\r\n.\n",
		"CR.CR":           "\r.\r",
		"CR.CRLF":         "\r.\r\n",
		"CR.LF":           "\r.\n",
		"LF.CR":           "\n.\r",
		"bare LF in body": "\n",
		"bare CR in body": "\r",
	}
	for name, sep := range variants {
		t.Run(name, func(t *testing.T) {
			c := e.dial()
			c.hello()
			c.send("MAIL FROM:<x@sender.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
			c.expect("250 ")
			c.expect("250 ")
			c.expect("354 ")
			c.send("Subject: first\r\n\r\nbody" + sep + smuggled + ".\r\n")
			c.expect("554 5.5.2 ")
		})
	}
	if ms := e.messages(e.alice); len(ms) != 0 {
		t.Fatalf("%d messages stored, want none (first: %q)", len(ms), ms[0].Subject)
	}
}

// TestSMTP_DotCRNotSmuggled: go-smtp's DATA reader drops a line-leading
// ".\r" that is not followed by LF before Lightr sees the bytes, so this
// one bare-CR form cannot be refused (README, Known issues). It must
// still not end the message: the "smuggled" commands stay text of the
// first message and no second message is stored.
func TestSMTP_DotCRNotSmuggled(t *testing.T) {
	e := start(t, nil, nil)
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("354 ")
	c.send("Subject: first\r\n\r\nbody\r\n.\rMAIL FROM:<admin@example.test>\r\n" +
		"RCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
	c.expect("250 ")
	c.send("NOOP\r\n")
	c.expect("250 ")
	ms := e.messages(e.alice)
	if len(ms) != 1 || ms[0].Subject != "first" {
		t.Fatalf("stored %d messages, want only \"first\"", len(ms))
	}
	if raw := e.raw(ms[0]); !strings.Contains(raw, "body\r\nMAIL FROM:<admin@example.test>\r\n") {
		t.Errorf("smuggled text not kept inside the first message:\n%q", raw)
	}
}

func TestSMTP_ForgedTraceFieldsRemoved(t *testing.T) {
	e := start(t, nil, nil)
	body := "Return-Path: <forged@evil.example>\r\n" +
		"Authentication-Results: mx.example.test; dkim=pass\r\n" +
		"Authentication-Results:\r\n mx.example.test; spf=pass\r\n" +
		"Authentication-Results: other.example; dkim=pass\r\n" +
		testMessage("forged")
	if r := e.deliver("bob@sender.example", "alice@example.test", body); !strings.HasPrefix(r, "250 ") {
		t.Fatal(r)
	}
	raw := e.raw(e.messages(e.alice)[0])
	if strings.Contains(raw, "forged@evil.example") || strings.Contains(raw, "mx.example.test; dkim=pass") ||
		strings.Contains(raw, "mx.example.test; spf=pass") {
		t.Errorf("forged fields kept:\n%s", raw)
	}
	if !strings.Contains(raw, "Authentication-Results: other.example; dkim=pass\r\n") {
		t.Errorf("another server's Authentication-Results removed:\n%s", raw)
	}
}

// TestSMTP_EightBitKept: UTF-8 headers and 8-bit bodies are stored byte
// for byte (SMTPUTF8, 8BITMIME).
func TestSMTP_EightBitKept(t *testing.T) {
	e := start(t, nil, nil)
	body := "From: Jürgen <jürgen@sender.example>\r\nTo: alice@example.test\r\n" +
		"Subject: Grüße aus Köln ✓\r\n\r\nHallo – schön!\r\n"
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<jürgen@sender.example> SMTPUTF8 BODY=8BITMIME\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<alice@example.test>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect("354 ")
	c.send(body + ".\r\n")
	c.expect("250 ")
	m := e.messages(e.alice)[0]
	if !strings.HasSuffix(e.raw(m), body) {
		t.Errorf("bytes changed:\n%q", e.raw(m))
	}
	if m.Subject != "Grüße aus Köln ✓" {
		t.Errorf("subject %q", m.Subject)
	}
}

func TestSMTP_ChunkingAndPipelining(t *testing.T) {
	e := start(t, nil, nil)
	c := e.dial()
	c.hello()
	body := testMessage("chunked")
	half := len(body) / 2
	c.send("MAIL FROM:<x@sender.example>\r\nRCPT TO:<alice@example.test>\r\n" +
		fmt.Sprintf("BDAT %d\r\n%s", half, body[:half]) +
		fmt.Sprintf("BDAT %d LAST\r\n%s", len(body)-half, body[half:]))
	for range 4 {
		c.expect("250 ")
	}
	if ms := e.messages(e.alice); len(ms) != 1 || ms[0].Subject != "chunked" {
		t.Fatalf("stored %v", ms)
	}
}

func TestSMTP_StartTLS(t *testing.T) {
	e := start(t, nil, nil)
	c := e.dial()
	c.hello()
	c.startTLS()
	c.send("EHLO client.example.org\r\nMAIL FROM:<x@sender.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("354 ")
	c.send(testMessage("secret") + ".\r\n")
	c.expect("250 ")
	raw := e.raw(e.messages(e.alice)[0])
	if !strings.Contains(raw, "with ESMTPS id") || !strings.Contains(raw, "(version=TLS1.3 cipher=") {
		t.Errorf("Received does not record TLS:\n%s", raw)
	}
}

func TestSMTP_TooManyErrors(t *testing.T) {
	e := start(t, nil, func(o *smtp.Options) { o.MaxErrors = 3 })
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<a@nowhere.example>\r\nRCPT TO:<b@nowhere.example>\r\nRCPT TO:<c@nowhere.example>\r\n")
	c.expect("554 ")
	c.expect("554 ")
	c.expect("421 4.7.0 ")
	if r := c.reply(); !strings.HasPrefix(r, "EOF") && !strings.HasPrefix(r, "421") {
		t.Fatalf("connection still open after 421: %q", r)
	}
}

func TestSMTP_ConnectionLimits(t *testing.T) {
	e := start(t, nil, func(o *smtp.Options) { o.MaxConnectionsPerIP = 2 })
	a, b := e.dial(), e.dial()
	a.expect("220 ")
	b.expect("220 ")
	c := e.dial()
	c.expect("421 4.7.0 ")

	// A slot frees up when a session ends.
	a.send("QUIT\r\n")
	a.expect("221 ")
	var d *conn
	for range 50 {
		d = e.dial()
		if r := d.reply(); strings.HasPrefix(r, "220 ") {
			return
		}
	}
	t.Fatal("no slot after QUIT")
}

// TestSMTP_ConcurrentSessions: many sessions at once each get their
// message stored exactly once, with distinct UIDs.
func TestSMTP_ConcurrentSessions(t *testing.T) {
	e := start(t, nil, func(o *smtp.Options) { o.MaxConnectionsPerIP = 50 })
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.deliver("x@sender.example", "alice@example.test", testMessage(fmt.Sprint("m", i)))
			if !strings.HasPrefix(r, "250 ") {
				errs <- r
			}
		}()
	}
	wg.Wait()
	close(errs)
	for r := range errs {
		t.Error(r)
	}
	ms := e.messages(e.alice)
	uids := map[uint32]bool{}
	for _, m := range ms {
		uids[m.UID] = true
	}
	if len(ms) != n || len(uids) != n {
		t.Fatalf("%d messages, %d distinct UIDs, want %d", len(ms), len(uids), n)
	}
}
