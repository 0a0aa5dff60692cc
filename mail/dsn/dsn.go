package dsn

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// NullSender is the reverse-path a notification must be sent with: the
// caller passes it to MAIL FROM, which then reads MAIL FROM:<> (RFC 3464
// §5, RFC 5321 §4.5.5). A notification with a real reverse-path could
// bounce in turn, and two servers could then bounce bounces forever.
const NullSender = ""

// DefaultMaxReturnSize is the default of Builder.MaxReturnSize.
const DefaultMaxReturnSize = 128 << 10

// ErrInvalidReport is returned, wrapped with the reason, by Build for a
// Report or Builder that cannot make a valid notification.
var ErrInvalidReport = errors.New("dsn: invalid report")

// Action is a recipient's Action field (RFC 3464 §2.3.3).
type Action string

// The actions of RFC 3464 §2.3.3.
const (
	// ActionFailed: the message could not be delivered and will not be
	// retried (a permanent failure, or a temporary one past the maximum
	// age).
	ActionFailed Action = "failed"
	// ActionDelayed: delivery has not succeeded yet and will be retried.
	ActionDelayed Action = "delayed"
	// ActionDelivered: the message reached the recipient's mailbox.
	ActionDelivered Action = "delivered"
	// ActionRelayed: the message went on to a server that does not send
	// notifications, so this is the last one.
	ActionRelayed Action = "relayed"
	// ActionExpanded: delivered to an alias or list that expanded to
	// further recipients.
	ActionExpanded Action = "expanded"
)

func (a Action) valid() bool {
	switch a {
	case ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		return true
	}
	return false
}

// Return says what of the original message a notification carries (the
// RET parameter of MAIL FROM, RFC 3461 §4.3).
type Return int

const (
	// ReturnHeaders returns the original's header block only, the default
	// (RET=HDRS, or no RET): it identifies the message without echoing a
	// large body back.
	ReturnHeaders Return = iota
	// ReturnFull returns the whole original (RET=FULL) when it fits in
	// Builder.MaxReturnSize and can be carried unencoded; otherwise the
	// headers are returned and the explanation says so.
	ReturnFull
)

// Recipient is one recipient the notification reports on.
type Recipient struct {
	// FinalRecipient is the address delivery was attempted to (RCPT TO),
	// required.
	FinalRecipient string
	// OriginalRecipient is the address as first given to Lightr, from
	// ORCPT (RFC 3461 §4.2), decoded; empty when unknown.
	OriginalRecipient string
	// Action is what happened, required.
	Action Action
	// Status is the enhanced status code (RFC 3463), such as "5.1.1":
	// normally 5.x.x for failed, 4.x.x for delayed and 2.x.x otherwise,
	// though a message that failed by age may keep its last 4.x.x code.
	Status string
	// RemoteMTA is the host name of the server that answered, if any.
	RemoteMTA string
	// Diagnostic is that server's reply, code and text, as received;
	// Build reduces it to one bounded line.
	Diagnostic string
	// LastAttempt is when delivery was last tried; zero if never.
	LastAttempt time.Time
	// WillRetryUntil is when retries stop, for ActionDelayed.
	WillRetryUntil time.Time
}

// Report is what a notification is about: one message and the
// recipients that need reporting.
type Report struct {
	// Sender is the original's envelope sender (MAIL FROM), the
	// notification's recipient. It must not be null (see ShouldBounce).
	Sender string
	// EnvelopeID is the ENVID of MAIL FROM (RFC 3461 §4.4), decoded;
	// empty when none was given.
	EnvelopeID string
	// ArrivalDate is when Lightr accepted the message.
	ArrivalDate time.Time
	// Recipients are those to report, at least one.
	Recipients []Recipient
	// Original is the original message as accepted.
	Original []byte
	// Return chooses headers only (the default) or the full message.
	Return Return
}

// Builder builds notifications for one reporting server. Its zero value
// is not usable: Hostname is required.
type Builder struct {
	// Hostname is this server's host name: the Reporting-MTA and the
	// domain of the From address and of generated Message-IDs.
	Hostname string
	// From is the notification's From field, as an RFC 5322 address.
	// Empty means "Mail Delivery System <MAILER-DAEMON@Hostname>".
	From string
	// MaxReturnSize bounds the returned original: a full message larger
	// than this is returned as headers, and a header block is cut at a
	// line boundary to fit. Zero or less means DefaultMaxReturnSize.
	MaxReturnSize int
	// Now is the clock for the Date field; nil means time.Now.
	Now func() time.Time
	// MessageID returns the notification's Message-ID without angle
	// brackets; nil means a random id at Hostname.
	MessageID func() string
}

// Build returns the notification for r as an RFC 5322 message with CRLF
// line endings, ready to be sent to r.Sender with MAIL FROM:<>
// (NullSender). It fails, with an error that wraps ErrInvalidReport,
// only when r or b is unusable: no recipient, a null sender, an unknown
// action, a malformed status code, or a host name or address that cannot
// be written in a header.
func (b *Builder) Build(r *Report) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	from, err := b.fromField()
	if err != nil {
		return nil, err
	}
	orig := readOriginal(r.Original)
	returned := b.returned(r, orig)

	// The three parts first: the boundary is derived from their bytes.
	parts := [][]byte{
		textPart(b.Hostname, r, orig, returned),
		statusPart(b.Hostname, r),
	}
	if returned.part != nil {
		parts = append(parts, returned.part)
	}
	boundary := pickBoundary(parts)

	var buf bytes.Buffer
	b.writeHeader(&buf, r, from, orig, boundary)
	buf.WriteString("This is a MIME-encapsulated delivery status notification.\r\n")
	for _, p := range parts {
		buf.WriteString("\r\n--" + boundary + "\r\n")
		buf.Write(p)
	}
	buf.WriteString("\r\n--" + boundary + "--\r\n")
	return buf.Bytes(), nil
}

func (b *Builder) check() error {
	if b.Hostname == "" || !isToken(b.Hostname) {
		return fmt.Errorf("%w: host name %q", ErrInvalidReport, b.Hostname)
	}
	return nil
}

func (r *Report) check() error {
	if isNull(r.Sender) {
		return fmt.Errorf("%w: null sender gets no notification", ErrInvalidReport)
	}
	if !isAddress(r.Sender) {
		return fmt.Errorf("%w: sender %q", ErrInvalidReport, r.Sender)
	}
	if len(r.Recipients) == 0 {
		return fmt.Errorf("%w: no recipients", ErrInvalidReport)
	}
	for i, rc := range r.Recipients {
		if !isAddress(rc.FinalRecipient) {
			return fmt.Errorf("%w: recipient %d: address %q", ErrInvalidReport, i, rc.FinalRecipient)
		}
		if rc.OriginalRecipient != "" && !isAddress(rc.OriginalRecipient) {
			return fmt.Errorf("%w: recipient %d: original address %q", ErrInvalidReport, i, rc.OriginalRecipient)
		}
		if !rc.Action.valid() {
			return fmt.Errorf("%w: recipient %d: action %q", ErrInvalidReport, i, rc.Action)
		}
		if !validStatus(rc.Status) {
			return fmt.Errorf("%w: recipient %d: status %q", ErrInvalidReport, i, rc.Status)
		}
	}
	return nil
}

// fromField is the From field's value: b.From re-encoded by net/mail, so
// a UTF-8 display name becomes RFC 2047 words.
func (b *Builder) fromField() (string, error) {
	from := b.From
	if from == "" {
		from = "Mail Delivery System <MAILER-DAEMON@" + b.Hostname + ">"
	}
	a, err := mail.ParseAddress(from)
	if err != nil || !isASCII(a.Address) {
		return "", fmt.Errorf("%w: from address %q", ErrInvalidReport, from)
	}
	return a.String(), nil
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Builder) messageID() string {
	if b.MessageID != nil {
		return b.MessageID()
	}
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+).
	return "dsn." + hex.EncodeToString(id[:]) + "@" + b.Hostname
}

// Subjects of the three kinds of notification.
const (
	subjectFailed  = "Undelivered Mail Returned to Sender"
	subjectDelayed = "Delayed Mail (still being retried)"
	subjectSuccess = "Successful Mail Delivery Report"
)

// subject picks the subject of the worst action reported: a failure
// matters more than a delay, a delay more than a success.
func subject(rcpts []Recipient) string {
	s := subjectSuccess
	for _, rc := range rcpts {
		switch rc.Action {
		case ActionFailed:
			return subjectFailed
		case ActionDelayed:
			s = subjectDelayed
		}
	}
	return s
}

func (b *Builder) writeHeader(buf *bytes.Buffer, r *Report, from string, orig original, boundary string) {
	writeField(buf, "From", from)
	writeField(buf, "To", "<"+r.Sender+">")
	writeField(buf, "Subject", subject(r.Recipients))
	writeField(buf, "Date", b.now().Format(time.RFC1123Z))
	if id := oneLine(b.messageID(), maxIDLen); id != "" {
		writeField(buf, "Message-ID", "<"+id+">")
	}
	if orig.messageID != "" {
		writeField(buf, "In-Reply-To", orig.messageID)
		writeField(buf, "References", orig.messageID)
	}

	// RFC 3834 §5: marks the notification as automatic, so that vacation
	// responders and the like do not answer it.
	writeField(buf, "Auto-Submitted", "auto-replied")
	writeField(buf, "MIME-Version", "1.0")
	writeField(buf, "Content-Type",
		`multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	writeField(buf, "Content-Transfer-Encoding", "7bit")
	buf.WriteString("\r\n")
}

// pickBoundary derives the multipart boundary from the parts' bytes. A
// part would have to contain the hash of its own content to hold the
// delimiter, but the loop checks anyway.
func pickBoundary(parts [][]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	sum := h.Sum(nil)
	for salt := byte(0); ; salt++ {
		boundary := "=_dsn_" + hex.EncodeToString(sum[:12])
		if !containsAny(parts, "--"+boundary) {
			return boundary
		}
		next := sha256.Sum256(append(sum[:12:12], salt))
		sum = next[:]
	}
}

func containsAny(parts [][]byte, s string) bool {
	for _, p := range parts {
		if bytes.Contains(p, []byte(s)) {
			return true
		}
	}
	return false
}

// isNull reports whether an envelope sender is the null reverse-path.
func isNull(sender string) bool {
	s := strings.TrimSpace(sender)
	return s == "" || s == "<>"
}
