package dsn

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on what is copied from outside into the notification.
const (
	// maxDiagnosticLen bounds the Diagnostic-Code text: enough for any
	// useful SMTP reply, and with the field name well under 998 octets.
	maxDiagnosticLen = 512
	// maxEnvelopeIDLen is ENVID's own limit (RFC 3461 §4.4).
	maxEnvelopeIDLen = 100
	// maxAddrLen bounds an address in octets (RFC 5321 §4.5.3.1.3 allows
	// a path of 256); its xtext form stays under 998 octets.
	maxAddrLen = 256
	// maxIDLen bounds a Message-ID that is copied into In-Reply-To.
	maxIDLen = 250
	// foldAt is where header lines are folded when a space allows it
	// (RFC 5322 §2.1.1's 78).
	foldAt = 78
)

// statusPart is the message/delivery-status part (RFC 3464 §2): the
// per-message fields, then one group per recipient, the groups separated
// by blank lines.
func statusPart(host string, r *Report) []byte {
	var buf bytes.Buffer
	writeField(&buf, "Content-Type", "message/delivery-status")
	writeField(&buf, "Content-Description", "Delivery report")
	buf.WriteString("\r\n")

	writeField(&buf, "Reporting-MTA", "dns; "+host)
	if id := oneLine(r.EnvelopeID, maxEnvelopeIDLen); id != "" {
		writeField(&buf, "Original-Envelope-Id", id)
	}
	if !r.ArrivalDate.IsZero() {
		writeField(&buf, "Arrival-Date", r.ArrivalDate.Format(time.RFC1123Z))
	}
	for _, rc := range r.Recipients {
		buf.WriteString("\r\n")
		writeRecipient(&buf, &rc)
	}
	return buf.Bytes()
}

// writeRecipient writes the per-recipient fields of RFC 3464 §2.3.
func writeRecipient(buf *bytes.Buffer, rc *Recipient) {
	writeField(buf, "Final-Recipient", addressField(rc.FinalRecipient))
	if rc.OriginalRecipient != "" {
		writeField(buf, "Original-Recipient", addressField(rc.OriginalRecipient))
	}
	writeField(buf, "Action", string(rc.Action))
	writeField(buf, "Status", rc.Status)

	// A name that cannot be written safely is left out rather than
	// repaired: the field is optional, and a repaired name would be wrong.
	if rc.RemoteMTA != "" && isToken(rc.RemoteMTA) {
		writeField(buf, "Remote-MTA", "dns; "+rc.RemoteMTA)
	}
	if diag := oneLine(rc.Diagnostic, maxDiagnosticLen); diag != "" {
		writeField(buf, "Diagnostic-Code", "smtp; "+diag)
	}
	if !rc.LastAttempt.IsZero() {
		writeField(buf, "Last-Attempt-Date", rc.LastAttempt.Format(time.RFC1123Z))
	}
	if rc.Action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
		writeField(buf, "Will-Retry-Until", rc.WillRetryUntil.Format(time.RFC1123Z))
	}
}

// addressField is an address with its type (RFC 3464 §2.3.2): rfc822 for
// ASCII, else utf-8 in the 7-bit xtext form that message/delivery-status
// requires (RFC 6533 §3), where every character outside QCHAR, ASCII
// '+', '=' and '\' included, is written as \x{HEX}.
func addressField(addr string) string {
	if isASCII(addr) {
		return "rfc822; " + addr
	}
	var sb strings.Builder
	sb.WriteString("utf-8; ")
	for _, c := range addr {
		if isQChar(c) {
			sb.WriteRune(c)
			continue
		}
		fmt.Fprintf(&sb, `\x{%02X}`, c)
	}
	return sb.String()
}

func isQChar(c rune) bool {
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\'
}

// writeField writes "Name: value" and CRLF, folding before a space when
// the line would pass foldAt columns (RFC 5322 §2.2.3). value is one
// line already; its words are bounded, so no line passes 998 octets.
func writeField(buf *bytes.Buffer, name, value string) {
	buf.WriteString(name)
	buf.WriteString(":")
	col := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if i > 0 && col+1+len(word) > foldAt && col > len(name)+1 {
			buf.WriteString("\r\n")
			col = 0
		}
		buf.WriteString(" ")
		buf.WriteString(word)
		col += 1 + len(word)
	}
	buf.WriteString("\r\n")
}

// oneLine reduces text from outside (a remote reply, an envelope id) to
// one line of printable ASCII of at most maxLen octets: line breaks and
// other controls become spaces, runs of spaces collapse, other bytes
// become '?', and a cut is marked with "...". Nothing in the result can
// end a header field or start another one.
func oneLine(s string, maxLen int) string {
	return cleanLine(s, maxLen, false)
}

// cleanLine is oneLine that keeps non-ASCII characters when utf is set,
// for the human-readable part; invalid UTF-8 then becomes U+FFFD.
func cleanLine(s string, maxLen int, utf bool) string {
	var sb strings.Builder
	space := false
	for _, c := range s {
		switch {
		case c < 0x20 || c == 0x7f || c == ' ' || (c >= 0x80 && c < 0xa0):
			space = true
			continue
		case c > 0x7e && !utf:
			c = '?'
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(c)
	}
	out := sb.String()
	if len(out) <= maxLen {
		return out
	}
	cut := maxLen - 3
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return strings.TrimRight(out[:cut], " ") + "..."
}

// validStatus checks the status-code grammar of RFC 3464 §2.3.4 (RFC
// 3463 §2): class "." subject "." detail, the class 2, 4 or 5 and the
// others of one to three digits.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.Contains("245", parts[0]) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// isToken reports whether a host name can be written as the dns name of
// an MTA field: a domain or an address literal, nothing that could end
// or extend the field.
func isToken(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(".-_:[]", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// isAddress reports whether an envelope address can be written as it is:
// valid UTF-8, bounded, without controls, spaces or angle brackets.
func isAddress(s string) bool {
	if s == "" || len(s) > maxAddrLen || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || (c >= 0x80 && c < 0xa0) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
