package dsn_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/mail/dsn"
	"github.com/lightr-mail/lightr/mail/message"
)

func TestBuild_Structure(t *testing.T) {
	out := build(t, newBuilder(), failedReport())
	e, ents, bodies := parts(t, out)

	// The notification's own header.
	h := e.Header
	want := map[string]string{
		"From":                      "\"Mail Delivery System\" <MAILER-DAEMON@mx.lightr.test>",
		"To":                        "<ana@sender.test>",
		"Subject":                   "Undelivered Mail Returned to Sender",
		"Date":                      "Wed, 04 Mar 2026 05:06:07 +0000",
		"Message-Id":                "<dsn-1@mx.lightr.test>",
		"In-Reply-To":               "<orig-42@sender.test>",
		"References":                "<orig-42@sender.test>",
		"Auto-Submitted":            "auto-replied",
		"Mime-Version":              "1.0",
		"Content-Transfer-Encoding": "7bit",
	}
	for name, v := range want {
		if got := h.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	mt, params, err := h.ContentType()
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Errorf("Content-Type = %q %v (%v), want multipart/report; report-type=delivery-status", mt, params, err)
	}

	// Three parts, in the order RFC 6522 §3 sets.
	var types []string
	for _, p := range ents {
		mt, _, _ := p.Header.ContentType()
		types = append(types, mt)
	}
	if diff := cmp.Diff([]string{"text/plain", "message/delivery-status", "text/rfc822-headers"}, types); diff != "" {
		t.Fatalf("part types (-want +got):\n%s", diff)
	}

	// The human part, decoded from quoted-printable UTF-8.
	text := string(bodies[0])
	for _, s := range []string{
		"mx.lightr.test",
		"<bob@remote.test>: failed (5.1.1)",
		"originally addressed to <bob@alias.test>",
		"mx1.remote.test said: 550 5.1.1 <bob@remote.test>: Recipient address rejected",
		"will not be tried again",
		"Subject: Résumé ✓",
		"Message-ID: <orig-42@sender.test>",
		"header is attached",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("text part lacks %q:\n%s", s, text)
		}
	}
	if _, params, _ := ents[0].Header.ContentType(); params["charset"] != "utf-8" {
		t.Errorf("text charset = %q", params["charset"])
	}
	if enc := ents[0].Header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
		t.Errorf("text encoding = %q", enc)
	}

	// The report, field by field.
	groups := statusGroups(t, bodies[1])
	if len(groups) != 2 {
		t.Fatalf("got %d delivery-status groups, want 2", len(groups))
	}
	wantMsg := map[string]string{
		"Reporting-Mta":        "dns; mx.lightr.test",
		"Original-Envelope-Id": "env-7",
		"Arrival-Date":         "Wed, 04 Mar 2026 04:06:07 +0000",
	}
	if diff := cmp.Diff(wantMsg, fields(groups[0])); diff != "" {
		t.Errorf("per-message fields (-want +got):\n%s", diff)
	}
	wantRcpt := map[string]string{
		"Final-Recipient":    "rfc822; bob@remote.test",
		"Original-Recipient": "rfc822; bob@alias.test",
		"Action":             "failed",
		"Status":             "5.1.1",
		"Remote-Mta":         "dns; mx1.remote.test",
		"Diagnostic-Code":    "smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected",
		"Last-Attempt-Date":  "Wed, 04 Mar 2026 05:05:07 +0000",
	}
	if diff := cmp.Diff(wantRcpt, fields(groups[1])); diff != "" {
		t.Errorf("per-recipient fields (-want +got):\n%s", diff)
	}

	// The returned headers: the original's header block and no body.
	wantHeader, _, _ := strings.Cut(originalMsg, "\r\n\r\n")
	if got := string(bodies[2]); got != wantHeader+"\r\n" {
		t.Errorf("returned headers =\n%q\nwant\n%q", got, wantHeader+"\r\n")
	}
}

func TestBuild_Deterministic(t *testing.T) {
	a := build(t, newBuilder(), failedReport())
	b := build(t, newBuilder(), failedReport())
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same report differ")
	}
}

func TestBuild_Defaults(t *testing.T) {
	// Without an injected clock and id the builder still makes a valid
	// notification, with a random id at the host.
	b := &dsn.Builder{Hostname: "mx.lightr.test", From: "Postmaster <postmaster@lightr.test>"}
	out := build(t, b, failedReport())
	e, _, _ := parts(t, out)
	if got := e.Header.Get("From"); got != `"Postmaster" <postmaster@lightr.test>` {
		t.Errorf("From = %q", got)
	}
	if id := e.Header.Get("Message-Id"); !strings.HasSuffix(id, "@mx.lightr.test>") {
		t.Errorf("Message-ID = %q", id)
	}
	if _, err := time.Parse(time.RFC1123Z, e.Header.Get("Date")); err != nil {
		t.Errorf("Date: %v", err)
	}
}

func TestBuild_Delayed(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Action = dsn.ActionDelayed
	r.Recipients[0].Status = "4.2.2"
	r.Recipients[0].Diagnostic = "452 4.2.2 Mailbox full"
	r.Recipients[0].WillRetryUntil = now.Add(4 * 24 * time.Hour)
	out := build(t, newBuilder(), r)
	e, _, bodies := parts(t, out)

	if got := e.Header.Get("Subject"); got != "Delayed Mail (still being retried)" {
		t.Errorf("Subject = %q", got)
	}
	g := fields(statusGroups(t, bodies[1])[1])
	if g["Action"] != "delayed" || g["Status"] != "4.2.2" ||
		g["Will-Retry-Until"] != "Sun, 08 Mar 2026 05:06:07 +0000" {
		t.Errorf("delayed recipient fields = %v", g)
	}
	if text := string(bodies[0]); !strings.Contains(text, "retrying until Sun, 08 Mar 2026") ||
		!strings.Contains(text, "need not resend") {
		t.Errorf("text part:\n%s", text)
	}
}

func TestBuild_MixedRecipients(t *testing.T) {
	r := failedReport()
	r.Recipients = append(r.Recipients,
		dsn.Recipient{FinalRecipient: "carl@remote.test", Action: dsn.ActionDelayed, Status: "4.4.1"},
		dsn.Recipient{FinalRecipient: "dora@remote.test", Action: dsn.ActionDelivered, Status: "2.0.0"})
	r.EnvelopeID = ""
	r.ArrivalDate = time.Time{}
	out := build(t, newBuilder(), r)
	e, _, bodies := parts(t, out)

	if got := e.Header.Get("Subject"); got != "Undelivered Mail Returned to Sender" {
		t.Errorf("Subject = %q, want the failure's", got)
	}
	groups := statusGroups(t, bodies[1])
	if len(groups) != 4 {
		t.Fatalf("got %d groups, want 1 + 3 recipients", len(groups))
	}
	if diff := cmp.Diff(map[string]string{"Reporting-Mta": "dns; mx.lightr.test"}, fields(groups[0])); diff != "" {
		t.Errorf("per-message fields without envelope id and arrival (-want +got):\n%s", diff)
	}
	wantCarl := map[string]string{
		"Final-Recipient": "rfc822; carl@remote.test",
		"Action":          "delayed",
		"Status":          "4.4.1",
	}
	if diff := cmp.Diff(wantCarl, fields(groups[2])); diff != "" {
		t.Errorf("a recipient with only the required fields (-want +got):\n%s", diff)
	}
	if got := groups[3].Get("Action"); got != "delivered" {
		t.Errorf("third recipient Action = %q", got)
	}
}

func TestBuild_DiagnosticInjection(t *testing.T) {
	long := strings.Repeat("x", 5000)
	cases := map[string]string{
		"crlf":      "550 no\r\nBcc: victim@evil.test\r\n\r\nFinal-Recipient: rfc822; forged@evil.test",
		"bare lf":   "550 no\nBcc: victim@evil.test\n\nAction: delivered",
		"bare cr":   "550 no\rBcc: victim@evil.test\r\rAction: delivered",
		"long":      "550 " + long,
		"long word": long + "\r\nBcc: victim@evil.test",
		"controls":  "550 \x00\x1b[31mred\x7f \u0085Bcc: x\u2028y",
		"utf8":      "550 Empfänger unbekannt",
		"multiline": "550-5.1.1 first line\r\n550-5.1.1 second line\r\n550 5.1.1 last line",
	}
	for name, diag := range cases {
		t.Run(name, func(t *testing.T) {
			r := failedReport()
			r.Recipients[0].Diagnostic = diag
			r.Recipients[0].RemoteMTA = "mx.remote.test\r\nBcc: victim@evil.test"
			out := build(t, newBuilder(), r)
			e, _, bodies := parts(t, out)

			if e.Header.Has("Bcc") {
				t.Error("a Bcc field reached the notification's header")
			}
			groups := statusGroups(t, bodies[1])
			if len(groups) != 2 {
				t.Fatalf("got %d groups, want 2: the reply added a group", len(groups))
			}
			g := groups[1]
			for _, k := range []string{"Bcc", "Remote-Mta"} {
				if g.Get(k) != "" {
					t.Errorf("field %s = %q in the recipient group", k, g.Get(k))
				}
			}
			if got := g.Values("Final-Recipient"); len(got) != 1 || got[0] != "rfc822; bob@remote.test" {
				t.Errorf("Final-Recipient = %q", got)
			}
			if got := g.Values("Action"); len(got) != 1 || got[0] != "failed" {
				t.Errorf("Action = %q", got)
			}
			code := g.Get("Diagnostic-Code")
			if !strings.HasPrefix(code, "smtp; ") || len(code) > 600 {
				t.Errorf("Diagnostic-Code is %d octets: %.80q", len(code), code)
			}
			if strings.ContainsAny(code, "\r\n\x00\x1b\x7f") {
				t.Errorf("Diagnostic-Code keeps controls: %q", code)
			}
		})
	}

	// A multi-line reply becomes one line with its parts in order.
	r := failedReport()
	r.Recipients[0].Diagnostic = cases["multiline"]
	_, _, bodies := parts(t, build(t, newBuilder(), r))
	want := "smtp; 550-5.1.1 first line 550-5.1.1 second line 550 5.1.1 last line"
	if got := statusGroups(t, bodies[1])[1].Get("Diagnostic-Code"); got != want {
		t.Errorf("Diagnostic-Code = %q, want %q", got, want)
	}
}

func TestBuild_UTF8Addresses(t *testing.T) {
	r := failedReport()
	r.Recipients[0].FinalRecipient = "jürgen+tag@bücher.test"
	r.Recipients[0].OriginalRecipient = "用户@例子.test"
	out := build(t, newBuilder(), r)
	_, _, bodies := parts(t, out)

	g := statusGroups(t, bodies[1])[1]
	if got, want := g.Get("Final-Recipient"), `utf-8; j\x{FC}rgen\x{2B}tag@b\x{FC}cher.test`; got != want {
		t.Errorf("Final-Recipient = %q, want %q", got, want)
	}
	if got, want := g.Get("Original-Recipient"), `utf-8; \x{7528}\x{6237}@\x{4F8B}\x{5B50}.test`; got != want {
		t.Errorf("Original-Recipient = %q, want %q", got, want)
	}
	if text := string(bodies[0]); !strings.Contains(text, "<jürgen+tag@bücher.test>: failed") ||
		!strings.Contains(text, "<用户@例子.test>") {
		t.Errorf("text part lacks the UTF-8 addresses:\n%s", text)
	}
}

func TestBuild_ReturnFull(t *testing.T) {
	r := failedReport()
	r.Return = dsn.ReturnFull
	_, ents, bodies := parts(t, build(t, newBuilder(), r))
	if mt, _, _ := ents[2].Header.ContentType(); mt != "message/rfc822" {
		t.Fatalf("third part is %s, want message/rfc822", mt)
	}
	if got := string(bodies[2]); got != originalMsg {
		t.Errorf("returned message =\n%q\nwant\n%q", got, originalMsg)
	}
	if !strings.Contains(string(bodies[0]), "The message is attached.") {
		t.Errorf("text part:\n%s", bodies[0])
	}
}

func TestBuild_ReturnFullDowngraded(t *testing.T) {
	big := originalMsg + strings.Repeat("more body text\r\n", 20000)
	eightBit := strings.Replace(originalMsg, "Hello Bob", "Hallo Björn", 1)
	longLine := originalMsg + strings.Repeat("y", 2000) + "\r\n"
	for name, orig := range map[string]string{"large": big, "8bit": eightBit, "long line": longLine} {
		t.Run(name, func(t *testing.T) {
			r := failedReport()
			r.Return = dsn.ReturnFull
			r.Original = []byte(orig)
			_, ents, bodies := parts(t, build(t, newBuilder(), r))
			if mt, _, _ := ents[2].Header.ContentType(); mt != "text/rfc822-headers" {
				t.Fatalf("third part is %s, want text/rfc822-headers", mt)
			}
			if bytes.Contains(bodies[2], []byte("Hello Bob")) || bytes.Contains(bodies[2], []byte("Björn")) {
				t.Error("the body was returned")
			}
			if !strings.Contains(string(bodies[0]), "could not be attached unchanged") {
				t.Errorf("text part does not say the message was not attached:\n%s", bodies[0])
			}
		})
	}
}

func TestBuild_ReturnedHeaders(t *testing.T) {
	t.Run("utf-8 header", func(t *testing.T) {
		// RFC 6532 headers travel as quoted-printable, decoded intact.
		orig := "From: Jürgen <jürgen@bücher.test>\r\nSubject: Grüße\r\n\r\nbody\r\n"
		r := failedReport()
		r.Original = []byte(orig)
		_, ents, bodies := parts(t, build(t, newBuilder(), r))
		if enc := ents[2].Header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
			t.Errorf("encoding = %q", enc)
		}
		if got, want := string(bodies[2]), strings.TrimSuffix(orig, "\r\nbody\r\n"); got != want {
			t.Errorf("returned headers = %q, want %q", got, want)
		}
		if !strings.Contains(string(bodies[0]), "Subject: Grüße") {
			t.Errorf("text part:\n%s", bodies[0])
		}
	})

	t.Run("cut at a field", func(t *testing.T) {
		var orig strings.Builder
		for range 100 {
			orig.WriteString("X-Long: " + strings.Repeat("a", 60) + "\r\n continued\r\n")
		}
		orig.WriteString("\r\nbody\r\n")
		b := newBuilder()
		b.MaxReturnSize = 1000
		r := failedReport()
		r.Original = []byte(orig.String())
		_, _, bodies := parts(t, build(t, b, r))
		got := string(bodies[2])
		if len(got) > 1000 || len(got) == 0 || !strings.HasSuffix(got, " continued\r\n") {
			t.Errorf("cut headers are %d octets, ending %q", len(got), got[max(0, len(got)-20):])
		}
		if !strings.Contains(string(bodies[0]), "start of the message's header") {
			t.Errorf("text part:\n%s", bodies[0])
		}
	})

	t.Run("bare LF", func(t *testing.T) {
		r := failedReport()
		r.Original = []byte(strings.ReplaceAll(originalMsg, "\r\n", "\n"))
		_, _, bodies := parts(t, build(t, newBuilder(), r))
		if !strings.HasPrefix(string(bodies[2]), "From: Ana <ana@sender.test>\r\nTo: ") {
			t.Errorf("returned headers = %q", bodies[2])
		}
	})

	t.Run("no original", func(t *testing.T) {
		r := failedReport()
		r.Original = nil
		_, ents, _ := parts(t, build(t, newBuilder(), r))
		if len(ents) != 2 {
			t.Errorf("got %d parts, want 2 without an original", len(ents))
		}
	})
}

func TestBuild_Invalid(t *testing.T) {
	cases := map[string]func(*dsn.Builder, *dsn.Report){
		"no host":        func(b *dsn.Builder, _ *dsn.Report) { b.Hostname = "" },
		"bad host":       func(b *dsn.Builder, _ *dsn.Report) { b.Hostname = "mx\r\nBcc: x" },
		"bad from":       func(b *dsn.Builder, _ *dsn.Report) { b.From = "not an address" },
		"null sender":    func(_ *dsn.Builder, r *dsn.Report) { r.Sender = "" },
		"<> sender":      func(_ *dsn.Builder, r *dsn.Report) { r.Sender = "<>" },
		"crlf sender":    func(_ *dsn.Builder, r *dsn.Report) { r.Sender = "a@b.test\r\nBcc: x@y.test" },
		"no recipients":  func(_ *dsn.Builder, r *dsn.Report) { r.Recipients = nil },
		"bad recipient":  func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].FinalRecipient = "a b@c" },
		"bad original":   func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].OriginalRecipient = "<x>" },
		"no action":      func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Action = "" },
		"unknown action": func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Action = "bounced" },
		"no status":      func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Status = "" },
		"status class":   func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Status = "3.1.1" },
		"status digits":  func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Status = "5.1234.1" },
		"status reply":   func(_ *dsn.Builder, r *dsn.Report) { r.Recipients[0].Status = "550" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b, r := newBuilder(), failedReport()
			mutate(b, r)
			if _, err := b.Build(r); !errors.Is(err, dsn.ErrInvalidReport) {
				t.Errorf("Build = %v, want ErrInvalidReport", err)
			}
		})
	}
}

func TestBuild_OwnParser(t *testing.T) {
	r := failedReport()
	r.Recipients[0].FinalRecipient = "jürgen@bücher.test"
	out := build(t, newBuilder(), r)
	p := message.Parse(out, message.Limits{})

	if p.Truncated {
		t.Error("Parse flags the notification truncated")
	}
	if p.Subject != "Undelivered Mail Returned to Sender" || p.MessageID != "dsn-1@mx.lightr.test" {
		t.Errorf("Subject %q, Message-ID %q", p.Subject, p.MessageID)
	}
	if got := p.Root.MediaType(); got != "multipart/report" || p.Root.Params["report-type"] != "delivery-status" {
		t.Errorf("root = %s %v", got, p.Root.Params)
	}
	var kids []string
	for _, c := range p.Root.Children {
		kids = append(kids, c.MediaType())
	}
	if diff := cmp.Diff([]string{"text/plain", "message/delivery-status", "text/rfc822-headers"}, kids); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	var atts []string
	for _, a := range p.Attachments {
		atts = append(atts, a.Part+" "+a.ContentType)
	}
	if diff := cmp.Diff([]string{"2 message/delivery-status", "3 text/rfc822-headers"}, atts); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
	if !p.HasAttachments {
		t.Error("HasAttachments is false")
	}
	if !strings.HasPrefix(p.Preview, "This is the mail system at mx.lightr.test.") {
		t.Errorf("Preview = %q", p.Preview)
	}
}
