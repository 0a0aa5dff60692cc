package outbound

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// Status is the outcome for one recipient, named as in the
// OutboundRecipient and DeliveryAttempt schemas.
type Status string

// The outcomes of a delivery attempt.
const (
	// StatusDelivered: the server took responsibility for the message
	// (2xx after the final dot).
	StatusDelivered Status = "delivered"

	// StatusDeferred: a temporary failure; try again later.
	StatusDeferred Status = "deferred"

	// StatusBounced: the destination refused the recipient permanently.
	StatusBounced Status = "bounced"

	// StatusFailed: Lightr could not send to this recipient at all (a
	// malformed address); no server was asked.
	StatusFailed Status = "failed"
)

// maxResponse bounds the reply text kept per recipient: the longest reply
// line RFC 5321 §4.5.3.1.5 allows.
const maxResponse = 512

// Result is the outcome of one Deliver call.
type Result struct {
	// Recipients holds one entry per recipient, in the order given.
	Recipients []RecipientResult

	// Host is the server that ran the transaction, "" when none did.
	Host string

	// TLS describes the connection to Host.
	TLS TLSInfo

	// Duration is the time Deliver took.
	Duration time.Duration

	// HostErrors lists the hosts that were tried and could not be used, in
	// order, for the delivery log.
	HostErrors []HostError
}

// RecipientResult is the outcome for one recipient: what a DeliveryAttempt
// row records.
type RecipientResult struct {
	Address string
	Status  Status

	// Code is the SMTP reply code, or 0 when the outcome did not come from a
	// reply (DNS, connection or local failures).
	Code int

	// EnhancedCode is the RFC 3463 code, such as "5.1.1": the server's, or
	// Lightr's own when Code is 0 or the server sent none.
	EnhancedCode string

	// Response is the reply text or a description of the failure, on one
	// line, with control characters replaced and at most maxResponse bytes.
	Response string

	// RemoteMX is the host that gave the outcome, without a trailing dot;
	// "" when no server was reached.
	RemoteMX string

	// TLS reports whether the transaction ran over TLS, TLSVersion its
	// version ("TLS 1.3").
	TLS        bool
	TLSVersion string

	// Duration is the time the whole delivery took.
	Duration time.Duration
}

// TLSInfo describes the TLS state of a connection.
type TLSInfo struct {
	// Used is true when the transaction ran over TLS.
	Used bool

	// Version is the TLS version, such as "TLS 1.3".
	Version string

	// Verified is true when the certificate verified for the host name.
	Verified bool

	// VerifyError is why it did not, when TLS was used.
	VerifyError string
}

// HostError is a host that could not be used, and why.
type HostError struct {
	Host    string // MX host name, without the trailing dot
	Addr    string // "ip:port", or "" when the name did not resolve
	Outcome string // the failure, as RecipientResult.Response
}

// outcome is an outcome shared by some recipients.
type outcome struct {
	status   Status
	code     int
	enhanced string
	text     string
}

// local returns an outcome that no server reply produced.
func local(status Status, enhanced, text string) outcome {
	return outcome{status: status, enhanced: enhanced, text: sanitize(text)}
}

// fromReply returns the outcome of an SMTP error reply: 4xx defers and 5xx
// bounces. Any other code where an error was expected is a protocol
// violation, treated as temporary.
func fromReply(e *smtp.SMTPError) outcome {
	o := outcome{status: StatusDeferred, code: e.Code, text: sanitize(e.Message)}
	if e.Code >= 500 && e.Code < 600 {
		o.status = StatusBounced
	}
	if e.EnhancedCode[0] > 0 {
		o.enhanced = formatEnhanced(e.EnhancedCode)
	}
	return o
}

// delivered returns the outcome of the reply to the final dot.
func delivered(text string) outcome {
	o := outcome{status: StatusDelivered, code: 250}
	o.enhanced, text = splitEnhanced(text)
	o.text = sanitize(text)
	return o
}

// formatEnhanced writes an enhanced code as "c.s.d".
func formatEnhanced(c smtp.EnhancedCode) string {
	return strconv.Itoa(c[0]) + "." + strconv.Itoa(c[1]) + "." + strconv.Itoa(c[2])
}

// splitEnhanced separates a leading enhanced status code (RFC 2034 §4) from
// a reply text.
func splitEnhanced(text string) (code, rest string) {
	head, tail, _ := strings.Cut(text, " ")
	parts := strings.Split(head, ".")
	if len(parts) != 3 || len(head) > 11 {
		return "", text
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "", text
		}
	}
	return head, tail
}

// sanitize makes reply text safe to store and show: lines joined with a
// space, control characters and invalid UTF-8 replaced, the result cut to
// maxResponse bytes on a rune boundary.
func sanitize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for i, r := range s {
		if b.Len()+utf8.RuneLen(r) > maxResponse {
			break
		}
		switch {
		case r == '\n':
			b.WriteByte(' ')
		case r == utf8.RuneError && isInvalidAt(s, i):
			b.WriteByte('?')
		case unicode.IsControl(r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// isInvalidAt reports whether the rune at byte i of s is invalid UTF-8
// rather than a literal U+FFFD.
func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size <= 1
}
