package compose

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/oklog/ulid/v2"
)

// ErrInvalid wraps the reasons a message cannot be built; the wrapped
// text is safe to show to the caller.
var ErrInvalid = errors.New("compose: invalid message")

// Address is a mailbox with an optional display name.
type Address struct {
	Name  string
	Email string
}

// Attachment is a file sent with the message. With a ContentID it is an
// inline part that the HTML body refers to as cid:<ContentID>.
type Attachment struct {
	Filename    string
	ContentType string
	Content     []byte
	ContentID   string
}

// Field is a header field the caller adds.
type Field struct {
	Name  string
	Value string
}

// Message is what Build turns into a MIME message.
type Message struct {
	From    Address
	To, Cc  []Address
	ReplyTo []Address
	Subject string
	// Text and HTML are the bodies; at least one is needed.
	Text, HTML  string
	Attachments []Attachment
	// Fields are extra header fields, checked with CheckField.
	Fields []Field
	// Date is the Date field; zero means now.
	Date time.Time
	// MessageID is the Message-ID without angle brackets; empty means
	// NewMessageID of the From domain.
	MessageID string
}

// NewMessageID returns a globally unique Message-ID for mail sent from
// domain, without angle brackets: a ULID at the sending domain (RFC 5322
// §3.6.4 asks for a unique left side and suggests a domain on the right).
func NewMessageID(domain string) string {
	return strings.ToLower(ulid.Make().String()) + "@" + domain
}

// ParseAddress parses "alice@example.com" or "Alice <alice@example.com>".
func ParseAddress(s string) (Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return Address{}, fmt.Errorf("%w: address %q has a line break", ErrInvalid, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w: address %q: %w", ErrInvalid, s, err)
	}
	return Address{Name: a.Name, Email: a.Address}, nil
}

// Build returns m as a MIME message with CRLF line endings.
func Build(m *Message) ([]byte, error) {
	if m.Text == "" && m.HTML == "" {
		return nil, fmt.Errorf("%w: a text or an HTML body is needed", ErrInvalid)
	}
	h, err := header(m)
	if err != nil {
		return nil, err
	}
	var inline, attached []Attachment
	for _, a := range m.Attachments {
		if err := checkAttachment(a); err != nil {
			return nil, err
		}
		// A Content-ID only makes a part inline when there is HTML to
		// refer to it.
		if a.ContentID != "" && m.HTML != "" {
			inline = append(inline, a)
		} else {
			attached = append(attached, a)
		}
	}

	var buf bytes.Buffer
	root := rootCreator{w: &buf, fields: h}
	if len(attached) == 0 {
		err = writeBody(root, m, inline)
	} else {
		err = multipart(root, "multipart/mixed", nil, func(pc partCreator) error {
			if err := writeBody(pc, m, inline); err != nil {
				return err
			}
			for _, a := range attached {
				if err := writeAttachment(pc, a, "attachment"); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// header returns the top-level fields of m, in the order they are
// written.
func header(m *Message) ([]Field, error) {
	from, err := netAddress("from", m.From)
	if err != nil {
		return nil, err
	}
	fs := []Field{{"From", from.String()}}
	for _, l := range []struct {
		key   string
		addrs []Address
	}{{"To", m.To}, {"Cc", m.Cc}, {"Reply-To", m.ReplyTo}} {
		if len(l.addrs) == 0 {
			continue
		}
		list := make([]string, 0, len(l.addrs))
		for _, a := range l.addrs {
			na, err := netAddress(strings.ToLower(l.key), a)
			if err != nil {
				return nil, err
			}
			list = append(list, na.String())
		}
		fs = append(fs, Field{l.key, strings.Join(list, ", ")})
	}
	if strings.ContainsFunc(m.Subject, isControl) {
		return nil, fmt.Errorf("%w: the subject has a line break or a control character", ErrInvalid)
	}
	if m.Subject != "" {
		fs = append(fs, Field{"Subject", encodeValue(m.Subject)})
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		id = NewMessageID(domainOf(m.From.Email))
	}
	fs = append(fs, Field{"Date", date.Format(time.RFC1123Z)}, Field{"Message-ID", "<" + id + ">"})
	for _, f := range m.Fields {
		if err := CheckField(f.Name, f.Value); err != nil {
			return nil, err
		}
		fs = append(fs, Field{f.Name, encodeValue(f.Value)})
	}
	return append(fs, Field{"MIME-Version", "1.0"}), nil
}

// toHeader returns the fields as a go-message header, which writes the
// fields added last first.
func toHeader(fs []Field) message.Header {
	var h message.Header
	for i := len(fs) - 1; i >= 0; i-- {
		h.Add(fs[i].Name, fs[i].Value)
	}
	return h
}

// netAddress checks a and converts it for go-message, which encodes a
// non-ASCII display name as an RFC 2047 encoded word.
func netAddress(field string, a Address) (*mail.Address, error) {
	if strings.ContainsAny(a.Name+a.Email, "\r\n") {
		return nil, fmt.Errorf("%w: %s address has a line break", ErrInvalid, field)
	}
	if _, err := mail.ParseAddress("<" + a.Email + ">"); err != nil {
		return nil, fmt.Errorf("%w: %s address %q: %w", ErrInvalid, field, a.Email, err)
	}
	return &mail.Address{Name: a.Name, Address: a.Email}, nil
}

func domainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

// encodeValue returns v as a header field value: as is when it is ASCII,
// else as RFC 2047 encoded words.
func encodeValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", v)
		}
	}
	return v
}
