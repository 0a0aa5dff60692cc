package dsn

import (
	"errors"
	"mime"
	"strings"

	"github.com/lightr-mail/lightr/mail/message"
)

// ShouldBounce reports whether a message that failed (or is delayed) may
// have a notification sent to its envelope sender envelopeFrom; original
// is the message as accepted. It is false, so that there is never a
// bounce for a bounce, when:
//
//   - envelopeFrom is null ("" or "<>"): RFC 5321 §4.5.5 and RFC 3464 §5
//     forbid a notification, and there is nowhere to send one;
//   - the message is a report, a Content-Type of multipart/report with any
//     report-type (RFC 6522): delivery-status and global-delivery-status
//     are notifications themselves (RFC 3464 §5), and the others
//     (disposition-notification, feedback-report, tlsrpt) are machine
//     reports with no person waiting for the answer;
//   - its Auto-Submitted field (RFC 3834 §5) is present with a value other
//     than "no" or "auto-generated": auto-replied and auto-notified mark a
//     response to another message, which RFC 3834 §3.3 says to send with
//     a null reverse-path, so one that carries a sender is treated as if
//     it had none, and an unknown value is treated the same way.
//
// An auto-generated message (a notification, a cron report, a
// newsletter) is bounced: it answers nothing, so a bounce cannot start a
// loop, and its sender usually needs the failure (mailing lists prune
// addresses by their bounces). The notification itself cannot loop either,
// since it goes out with MAIL FROM:<>.
func ShouldBounce(envelopeFrom string, original []byte) bool {
	if isNull(envelopeFrom) {
		return false
	}

	// Headers returns the fields it read before a limit; a report or an
	// automatic reply declares itself near the top anyway.
	fields, err := message.Headers(original)
	if err != nil && !errors.Is(err, message.ErrHeaderTooLarge) {
		return true
	}
	for _, f := range fields {
		switch strings.ToLower(f.Name) {
		case "content-type":
			if isReport(f.Value) {
				return false
			}
		case "auto-submitted":
			if isAutoReply(f.Value) {
				return false
			}
		}
	}
	return true
}

// isReport reports whether a Content-Type value is multipart/report. A
// value that does not parse is judged by its leading type, so that a
// broken parameter cannot turn a report into a message to bounce.
func isReport(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		mt, _, _ = strings.Cut(v, ";")
	}
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/report")
}

// isAutoReply reports whether an Auto-Submitted value asks for no bounce
// (see ShouldBounce). Parameters after ';' and comments are ignored (RFC
// 3834 §5 allows extensions).
func isAutoReply(v string) bool {
	keyword, _, _ := strings.Cut(stripComments(v), ";")
	switch strings.ToLower(strings.TrimSpace(keyword)) {
	case "no", "auto-generated":
		return false
	case "":
		// An empty field says nothing; treat it as absent.
		return false
	}
	return true
}

// stripComments removes RFC 5322 comments, unnested, from a field value.
func stripComments(v string) string {
	for {
		i := strings.IndexByte(v, '(')
		if i < 0 {
			return v
		}
		j := strings.IndexByte(v[i:], ')')
		if j < 0 {
			return v[:i]
		}
		v = v[:i] + " " + v[i+j+1:]
	}
}
