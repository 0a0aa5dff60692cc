package smtp

import (
	"bytes"
	"crypto/tls"
	"net/netip"
	"strings"
	"time"

	"github.com/lightr-mail/lightr/mail/verify"
)

// compose returns the message as stored: Return-Path (RFC 5321 §4.4),
// our Authentication-Results (RFC 8601) and Received (RFC 5321 §4.4)
// prepended to the client's bytes, which are kept byte for byte except for
// header fields that only we may write.
func (ss *session) compose(raw []byte, res verify.Result, now time.Time) []byte {
	var b bytes.Buffer
	b.Grow(len(raw) + 512)
	b.WriteString("Return-Path: <")
	b.WriteString(ss.from)
	b.WriteString(">\r\n")
	b.WriteString(res.Header)
	writeReceived(&b, ss.trace(), now)
	writeWithout(&b, raw, ss.srv.opts.Hostname)
	return b.Bytes()
}

// trace is what a Received field records about one session.
type trace struct {
	helo   string     // the client's EHLO name, as it gave it
	remote netip.Addr // the client's address
	by     string     // our host name
	id     string     // the session's id
	auth   bool       // the client authenticated (RFC 3848 "A")
	tls    *tls.ConnectionState
	rcpt   string // the one recipient, or "" for none or several
}

// trace returns the trace of the MX session.
func (ss *session) trace() trace {
	t := trace{helo: ss.conn.Hostname(), remote: ss.remote, by: ss.srv.opts.Hostname, id: ss.id}
	if state, ok := ss.conn.TLSConnectionState(); ok {
		t.tls = &state
	}
	if len(ss.rcpts) == 1 {
		t.rcpt = ss.rcpts[0].Address
	}
	return t
}

// writeReceived writes our trace field, for example:
//
//	Received: from mx.example.org ([192.0.2.1])
//		by mail.example.com (Lightr) with ESMTPS id 6a1b000001
//		(version=TLS1.3 cipher=TLS_AES_128_GCM_SHA256)
//		for <alice@example.com>; Thu, 3 Dec 2026 21:00:00 +0000
//
// "for" names the recipient only when there is one, so that Bcc
// recipients are not shown to each other. The protocol is ESMTP, plus S
// for TLS and A for an authenticated client (RFC 3848); who
// authenticated is not written, as Postfix does not by default: the
// message's readers need not learn the sender's login.
func writeReceived(b *bytes.Buffer, t trace, now time.Time) {
	with := "ESMTP"
	if t.tls != nil {
		with += "S"
	}
	if t.auth {
		with += "A"
	}
	b.WriteString("Received: from ")
	b.WriteString(cleanHelo(t.helo))
	b.WriteString(" ([")
	b.WriteString(t.remote.String())
	b.WriteString("])\r\n\tby ")
	b.WriteString(t.by)
	b.WriteString(" (Lightr) with ")
	b.WriteString(with)
	b.WriteString(" id ")
	b.WriteString(t.id)
	if t.tls != nil {
		b.WriteString("\r\n\t(version=")
		b.WriteString(strings.ReplaceAll(tls.VersionName(t.tls.Version), " ", ""))
		b.WriteString(" cipher=")
		b.WriteString(tls.CipherSuiteName(t.tls.CipherSuite))
		b.WriteString(")")
	}
	if t.rcpt != "" {
		b.WriteString("\r\n\tfor <")
		b.WriteString(t.rcpt)
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(now.Format(time.RFC1123Z))
	b.WriteString("\r\n")
}

// writeWithout copies raw to b, leaving out of its header block every
// Return-Path field (only the delivering MTA writes one, RFC 5321 §4.4)
// and every Authentication-Results field that claims to be ours (RFC 8601
// §5), so that a sender cannot forge our verdicts.
func writeWithout(b *bytes.Buffer, raw []byte, authServID string) {
	rest := raw
	for len(rest) > 0 {
		n := fieldLen(rest)
		if n == 0 {
			break // the blank line: the body follows, copied untouched
		}
		if !forbiddenField(rest[:n], authServID) {
			b.Write(rest[:n])
		}
		rest = rest[n:]
	}
	b.Write(rest)
}

// fieldLen returns the length of the header field at the start of h,
// continuation lines included, or 0 at the blank line that ends the
// header block.
func fieldLen(h []byte) int {
	n := 0
	for n < len(h) {
		end := bytes.Index(h[n:], []byte("\r\n"))
		if end < 0 {
			return len(h)
		}
		if n == 0 && end == 0 {
			return 0
		}
		n += end + 2
		if n >= len(h) || (h[n] != ' ' && h[n] != '\t') {
			return n
		}
	}
	return n
}

// forbiddenField reports whether the header field (with its continuation
// lines) is one only Lightr may write.
func forbiddenField(line []byte, authServID string) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := string(bytes.TrimSpace(line[:colon]))
	switch {
	case strings.EqualFold(name, "Return-Path"):
		return true
	case strings.EqualFold(name, "Authentication-Results"):
		value := headerValue(string(line))
		id, _, _ := strings.Cut(value, ";")
		id, _, _ = strings.Cut(strings.TrimSpace(id), " ")
		return strings.EqualFold(id, authServID)
	}
	return false
}

// cleanHelo keeps the client's HELO name printable and short, since it
// lands in a header field.
func cleanHelo(h string) string {
	if h == "" {
		return "unknown"
	}
	out := make([]byte, 0, len(h))
	for i := 0; i < len(h) && len(out) < 255; i++ {
		c := h[i]
		if c > ' ' && c < 0x7f && c != '(' && c != ')' && c != ';' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "unknown"
	}
	return string(out)
}

// headerValue returns the value of a complete "Name: value\r\n" field,
// unfolded.
func headerValue(field string) string {
	_, v, _ := strings.Cut(field, ":")
	v = strings.ReplaceAll(v, "\r\n", "")
	return strings.TrimSpace(v)
}
