package render_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightr-mail/lightr/mail/message"
)

// crlf turns the LF line breaks of a test message into CRLF, the form in
// which SMTP delivers and the store keeps messages.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// testMessage is one message of the test corpus. wellFormed marks the
// messages on which go-imap's extractors, which parse with go-message,
// are a reference for every section.
type testMessage struct {
	name       string
	raw        string
	wellFormed bool
}

var testMessages = []testMessage{
	{name: "plain", wellFormed: true, raw: crlf(`Received: from mx.example.org (mx.example.org [192.0.2.1])
	by mail.example.com with ESMTPS;
	Mon, 2 Jun 2025 10:00:00 +0000
From: "Alice Example" <alice@example.org>
To: Bob <bob@example.com>, carol@example.com
Cc: =?utf-8?q?Dani=C3=A8le?= <dani@example.net>
Subject: =?utf-8?b?SGVsbG8g8J+Riw==?= world
Date: Mon, 2 Jun 2025 11:59:00 +0200
Message-ID: <m1@example.org>
In-Reply-To: <m0@example.org> <mx@example.org>
Content-Type: text/plain; charset=utf-8

Hello Bob,

this is a plain message.
`)},
	{name: "alternative", wellFormed: true, raw: crlf(`From: alice@example.org
To: bob@example.com
Reply-To: list@example.org
Sender: bounce@example.org
Subject: Alternative
Date: Tue, 3 Jun 2025 08:00:00 -0700
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-b"

This is a multi-part message in MIME format.

--alt-b
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

Plain text
two lines
--alt-b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Caf=C3=A9 =3D coffee, a long line that is wrapped by a soft line brea=
k</p>

--alt-b--

epilogue
`)},
	{name: "mixed", wellFormed: true, raw: crlf(`From: alice@example.org
To: bob@example.com
Subject: Report
Message-ID: <mixed@example.org>
Content-Type: multipart/mixed; boundary=mix

--mix
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Language: en, fr

See the attached report.
--mix
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf; size=12
Content-ID: <pdf1@example.org>
Content-Description: The report
Content-Location: http://example.org/report.pdf

JVBERi0xLjQK
JSVFT0YK
--mix--
`)},
	{name: "nested", wellFormed: true, raw: crlf(`From: alice@example.org
To: bob@example.com
Subject: Nested
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

Text body
--inner
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html; charset=utf-8

<img src="cid:img1">
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <img1>
Content-Disposition: inline

iVBORw0KGgo=
--rel--
--inner--
--outer
Content-Type: text/csv; name=data.csv
Content-Disposition: attachment; filename=data.csv

a,b
1,2
--outer--
`)},
	{name: "rfc822", wellFormed: true, raw: crlf(`From: alice@example.org
To: bob@example.com
Subject: Fwd: Original
Content-Type: multipart/mixed; boundary="fwd"

--fwd
Content-Type: text/plain

Forwarded below.
--fwd
Content-Type: message/rfc822
Content-Disposition: inline

From: Carol <carol@example.net>
To: alice@example.org
Subject: Original
Date: Sun, 1 Jun 2025 09:00:00 +0000
Message-ID: <orig@example.net>
Content-Type: multipart/alternative; boundary="orig-alt"

--orig-alt
Content-Type: text/plain

Original text
--orig-alt
Content-Type: text/html

<p>Original</p>
--orig-alt--
--fwd
Content-Type: message/rfc822

From: dave@example.com
Subject: Simple inner
Content-Type: text/plain

Inner body line 1
Inner body line 2
--fwd--
`)},
	{name: "single-base64", wellFormed: true, raw: crlf(`From: alice@example.org
To: bob@example.com
Subject: Base64 body
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGVsbG8sIHdvcmxkIQpTZWNvbmQg
bGluZS4K
`)},
	{name: "no-content-type", wellFormed: false, raw: crlf(`From: alice@example.org
Subject: Old style

No MIME at all.
`)},
	{name: "rfc822-top", wellFormed: true, raw: crlf(`From: gateway@example.org
Subject: Wrapped
Content-Type: message/rfc822

From: inner@example.org
Subject: Inner
Content-Type: text/plain

Inner text
`)},
	{name: "8bit-headers", wellFormed: false, raw: crlf("From: J\xc3\xbcrgen <j@example.org>\n" +
		"To: Ren\xe9 <rene@example.fr>\n" +
		"Subject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n" +
		"Content-Type: text/plain; charset=utf-8\n" +
		"Content-Transfer-Encoding: 8bit\n" +
		"\n" +
		"Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe\n")},
	{name: "broken-boundary", wellFormed: false, raw: crlf(`From: alice@example.org
Subject: Broken
Content-Type: multipart/mixed; boundary="never"

--other
Content-Type: text/plain

nothing matches the boundary
`)},
	{name: "unterminated-multipart", wellFormed: false, raw: crlf(`From: alice@example.org
Subject: Cut off
Content-Type: multipart/mixed; boundary="cut"

--cut
Content-Type: text/plain

first part
--cut
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQF
`)},
	{name: "unknown-cte", wellFormed: false, raw: crlf(`From: alice@example.org
Subject: uuencoded
Content-Type: multipart/mixed; boundary=u

--u
Content-Type: application/octet-stream
Content-Transfer-Encoding: x-uuencode

begin 644 a.bin
` + "`" + `
end
--u--
`)},
	{name: "groups", wellFormed: false, raw: crlf(`From: alice@example.org
To: undisclosed-recipients:;
Cc: Team: bob@example.com, "Carol C" <carol@example.com>;, dave@example.com
Subject: Groups

body
`)},
	{name: "lf-only", wellFormed: false, raw: "From: alice@example.org\nSubject: LF\n" +
		"Content-Type: multipart/mixed; boundary=lf\n\n--lf\nContent-Type: text/plain\n\nLF body\n--lf--\n"},
	{name: "headers-only", wellFormed: false, raw: "From: alice@example.org\r\nSubject: no body"},
}

// parsed is a message as the IMAP server sees it: the raw bytes and the
// envelope and structure decoded from the JSON that delivery stored.
type parsed struct {
	raw  []byte
	env  *message.Envelope
	root *message.Part
}

// parse runs message.Parse as delivery does (server/smtp passes its
// Parse limits, zero by default) and decodes the stored JSON.
func parse(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	p := message.Parse(raw, message.Limits{})
	env, err := message.DecodeEnvelope(p.Envelope)
	if err != nil {
		tb.Fatalf("decode envelope: %v", err)
	}
	root, err := message.DecodeStructure(p.BodyStructure)
	if err != nil {
		tb.Fatalf("decode structure: %v", err)
	}
	return parsed{raw: raw, env: env, root: root}
}

// corpus returns the test messages and, as extra messages that are not
// well formed for the reference, mail/message's golden inputs.
func corpus(tb testing.TB) []testMessage {
	tb.Helper()
	msgs := append([]testMessage(nil), testMessages...)
	files, _ := filepath.Glob("../../../mail/message/testdata/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		name := "message-testdata/" + strings.TrimSuffix(filepath.Base(f), ".eml")
		msgs = append(msgs, testMessage{name: name, raw: string(b)})
	}
	return msgs
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
