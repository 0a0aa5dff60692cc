package dsn_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"

	"github.com/lightr-mail/lightr/mail/dsn"
)

// now is the fixed clock of the tests.
var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newBuilder() *dsn.Builder {
	return &dsn.Builder{
		Hostname:  "mx.lightr.test",
		Now:       func() time.Time { return now },
		MessageID: func() string { return "dsn-1@mx.lightr.test" },
	}
}

// originalMsg is a message whose subject is UTF-8 (RFC 2047) and whose
// body is larger than its header.
const originalMsg = "From: Ana <ana@sender.test>\r\n" +
	"To: bob@remote.test\r\n" +
	"Subject: =?utf-8?q?R=C3=A9sum=C3=A9_=E2=9C=93?=\r\n" +
	"Message-ID: <orig-42@sender.test>\r\n" +
	"Date: Tue, 03 Mar 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=us-ascii\r\n" +
	"\r\n" +
	"Hello Bob,\r\n" +
	"this is the body, which a headers-only bounce must not echo.\r\n"

func failedReport() *dsn.Report {
	return &dsn.Report{
		Sender:      "ana@sender.test",
		EnvelopeID:  "env-7",
		ArrivalDate: now.Add(-time.Hour),
		Original:    []byte(originalMsg),
		Recipients: []dsn.Recipient{{
			FinalRecipient:    "bob@remote.test",
			OriginalRecipient: "bob@alias.test",
			Action:            dsn.ActionFailed,
			Status:            "5.1.1",
			RemoteMTA:         "mx1.remote.test",
			Diagnostic:        "550 5.1.1 <bob@remote.test>: Recipient address rejected",
			LastAttempt:       now.Add(-time.Minute),
		}},
	}
}

func build(tb testing.TB, b *dsn.Builder, r *dsn.Report) []byte {
	tb.Helper()
	out, err := b.Build(r)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	checkWire(tb, out)
	return out
}

// checkWire checks the transport rules every notification keeps: CRLF
// only, lines of at most 998 octets, 7-bit throughout.
func checkWire(tb testing.TB, out []byte) {
	tb.Helper()
	for i, line := range bytes.Split(out, []byte("\r\n")) {
		if len(line) > 998 {
			tb.Errorf("line %d is %d octets", i+1, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			tb.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		for _, c := range line {
			if c >= 0x80 || c == 0 {
				tb.Errorf("line %d is not 7-bit: %q", i+1, line)
				break
			}
		}
	}
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		tb.Error("message does not end with CRLF")
	}
}

// parts parses a notification with go-message and returns its top-level
// entity and its parts with their decoded bodies.
func parts(tb testing.TB, out []byte) (*gomessage.Entity, []*gomessage.Entity, [][]byte) {
	tb.Helper()
	e, err := gomessage.Read(bytes.NewReader(out))
	if err != nil {
		tb.Fatalf("go-message Read: %v", err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		tb.Fatal("not a multipart")
	}
	var ents []*gomessage.Entity
	var bodies [][]byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			tb.Fatalf("read part: %v", err)
		}
		ents = append(ents, p)
		bodies = append(bodies, body)
	}
	return e, ents, bodies
}

// statusGroups parses a message/delivery-status body per RFC 3464 §2.1:
// groups of header fields separated by blank lines, the first one
// per-message, then one per recipient.
func statusGroups(tb testing.TB, body []byte) []textproto.MIMEHeader {
	tb.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	var groups []textproto.MIMEHeader
	for {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			groups = append(groups, h)
		}
		if errors.Is(err, io.EOF) {
			return groups
		}
		if err != nil {
			tb.Fatalf("delivery-status group %d: %v", len(groups), err)
		}
	}
}

// fields flattens a group for comparison: one value per name.
func fields(h textproto.MIMEHeader) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		m[k] = strings.Join(v, "|")
	}
	return m
}
