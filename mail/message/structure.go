package message

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
)

// Envelope holds what an IMAP ENVELOPE (RFC 9051 §7.5.2) reports, decoded:
// it maps field by field onto go-imap's imap.Envelope.
type Envelope struct {
	// Date is the Date field; zero when missing or unparseable (NIL).
	Date time.Time `json:"date,omitzero"`
	// Subject is decoded to UTF-8; a server re-encodes it (go-imap does).
	Subject string            `json:"subject,omitempty"`
	From    []EnvelopeAddress `json:"from,omitempty"`
	// Sender and ReplyTo are empty when the field is absent or empty; RFC
	// 9051 §7.5.2 then reports From in their place, which go-imap's writer
	// does for a nil list.
	Sender  []EnvelopeAddress `json:"sender,omitempty"`
	ReplyTo []EnvelopeAddress `json:"reply_to,omitempty"`
	To      []EnvelopeAddress `json:"to,omitempty"`
	Cc      []EnvelopeAddress `json:"cc,omitempty"`
	Bcc     []EnvelopeAddress `json:"bcc,omitempty"`
	// InReplyTo lists the message ids of In-Reply-To, without brackets.
	InReplyTo []string `json:"in_reply_to,omitempty"`
	// MessageID is the Message-ID without angle brackets.
	MessageID string `json:"message_id,omitempty"`
}

// EnvelopeAddress is one address of an ENVELOPE list, shaped as go-imap's
// imap.Address. Group syntax uses RFC 9051 §7.5.2 markers: a start marker
// has the group's name in Mailbox and an empty Host, an end marker is all
// empty.
type EnvelopeAddress struct {
	Name    string `json:"name,omitempty"`
	Mailbox string `json:"mailbox,omitempty"`
	Host    string `json:"host,omitempty"`
}

// Part is one node of a message's MIME tree with what an IMAP
// BODYSTRUCTURE (RFC 9051 §7.5.2) needs, in go-imap's terms, and the byte
// offsets that let a server answer BODY[section] by slicing the raw
// message.
//
// Invariants that a BODYSTRUCTURE writer relies on (go-imap's panics on a
// multipart without children): a Part whose Type is "multipart" has at
// least one child; a message/rfc822 or message/global Part has Message
// set. A part that cannot be parsed as declared is reported as a leaf of
// another type, with the declared type kept in Declared: a multipart
// without a boundary parameter or without any delimiter line is
// text/plain (its body is likely text that a reader wants to see), and a
// multipart or attached message past Limits, or an attached message with
// a base64 or quoted-printable encoding (RFC 2046 §5.2.1 forbids them, and
// offsets cannot point into decoded bytes), is application/octet-stream.
type Part struct {
	// Type and Subtype are lower case, e.g. "text" and "plain". A missing
	// or invalid Content-Type is text/plain; charset=us-ascii (RFC 2045
	// §5.2), message/rfc822 inside multipart/digest (RFC 2046 §5.1.5).
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	// Params are the Content-Type parameters, names in lower case, values
	// decoded (RFC 2231, and RFC 2047 where senders misuse it).
	Params map[string]string `json:"params,omitempty"`
	// ID and Description are the Content-ID and Content-Description
	// fields as written (unfolded).
	ID          string `json:"id,omitempty"`
	Description string `json:"description,omitempty"`
	// Encoding is the Content-Transfer-Encoding in lower case, "7bit" when
	// absent.
	Encoding string `json:"encoding"`
	// Size is the size of the body in octets as transmitted.
	Size int64 `json:"size"`
	// Lines is the number of lines of the body, for text/* and attached
	// messages.
	Lines int64 `json:"lines,omitempty"`
	// Disposition is the Content-Disposition value in lower case,
	// DispositionParams its parameters (RFC 2183).
	Disposition       string            `json:"disposition,omitempty"`
	DispositionParams map[string]string `json:"disposition_params,omitempty"`
	// Language lists the Content-Language tags, Location is
	// Content-Location (RFC 2557).
	Language []string `json:"language,omitempty"`
	Location string   `json:"location,omitempty"`
	// Children are the parts of a multipart.
	Children []*Part `json:"children,omitempty"`
	// Message is the attached message of a message/rfc822 part.
	Message *EmbeddedMessage `json:"message,omitempty"`
	// Declared is the declared type/subtype when the part is reported as
	// another type (see the type comment).
	Declared string `json:"declared,omitempty"`

	// HeaderStart is the offset in the raw message of the part's header
	// (its MIME header; for a message root, the message header).
	HeaderStart int64 `json:"header_start"`
	// BodyStart is the offset just after the blank line that ends the
	// header (or where the header stopped, if that line is missing).
	BodyStart int64 `json:"body_start"`
	// BodyEnd is the offset where the body ends: for a part of a
	// multipart, before the line break that precedes the next boundary
	// (RFC 2046 §5.1.1).
	BodyEnd int64 `json:"body_end"`
}

// EmbeddedMessage is the message carried by a message/rfc822 part. Its
// Body is the message's root: Body.HeaderStart is the enclosing part's
// BodyStart, so raw[Body.HeaderStart:Body.BodyStart] is SECTION.HEADER and
// raw[Body.BodyStart:Body.BodyEnd] is SECTION.TEXT.
type EmbeddedMessage struct {
	Envelope *Envelope `json:"envelope"`
	Body     *Part     `json:"body"`
}

// DecodeEnvelope decodes the JSON that Parse stored in Parsed.Envelope.
//
// The two decoders use goccy/go-json, which reads what encoding/json
// wrote about five times faster: an IMAP FETCH that finds the shared
// cache empty (the first after a restart) decodes every message's
// envelope and structure once.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	var env Envelope
	if err := gojson.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	return &env, nil
}

// DecodeStructure decodes the JSON that Parse stored in
// Parsed.BodyStructure.
func DecodeStructure(b []byte) (*Part, error) {
	var p Part
	if err := gojson.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode body structure: %w", err)
	}
	return &p, nil
}

// MediaType returns "type/subtype".
func (p *Part) MediaType() string { return p.Type + "/" + p.Subtype }

// IsMultipart reports whether p has children.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" && len(p.Children) > 0 }

// Header returns the part's header block (for a part of a multipart, its
// MIME header: BODY[section.MIME]). Offsets are clamped to raw, so a
// structure paired with the wrong message yields garbage, not a panic.
func (p *Part) Header(raw []byte) []byte { return clampSlice(raw, p.HeaderStart, p.BodyStart) }

// Body returns the part's body as transmitted: BODY[section] for a part
// with a section number, BODY[TEXT] for a message root.
func (p *Part) Body(raw []byte) []byte { return clampSlice(raw, p.BodyStart, p.BodyEnd) }

func clampSlice(raw []byte, from, to int64) []byte {
	n := int64(len(raw))
	from = min(max(from, 0), n)
	to = min(max(to, from), n)
	return raw[from:to]
}

// Find returns the part that an IMAP section path such as "1.2" names
// (RFC 9051 §6.4.5), or nil. p must be a message root (the decoded
// BodyStructure, or an EmbeddedMessage's Body); "" returns p. As the RFC
// says, a message that is not multipart has a part 1, itself; the parts
// of an attached message continue the path of the message/rfc822 part,
// and "2.1" is the attached message's body if that is not multipart.
// Serve SECTION.HEADER and SECTION.TEXT from Find(section).Message.Body.
func (p *Part) Find(section string) *Part {
	if section == "" {
		return p
	}
	level := p
	nums := strings.Split(section, ".")
	for i, s := range nums {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || s[0] == '+' {
			return nil
		}
		var next *Part
		switch {
		case level.IsMultipart():
			if n > len(level.Children) {
				return nil
			}
			next = level.Children[n-1]
		case n == 1:
			next = level
		default:
			return nil
		}
		if i == len(nums)-1 {
			return next
		}
		switch {
		case next.IsMultipart():
			level = next
		case next.Message != nil && next.Message.Body != nil:
			level = next.Message.Body
		default:
			return nil
		}
	}
	return nil
}

// Walk calls fn for every part of the message rooted at p, depth first,
// attached messages included, with the part's section path; it stops when
// fn returns false. A multipart message root has no number of its own:
// it is reported with the section of the message/rfc822 part that holds
// it ("" at the top), which is where SECTION.TEXT reaches it.
func (p *Part) Walk(fn func(section string, part *Part) bool) {
	walkMessage(p, "", true, fn)
}

// walkMessage walks the message rooted at root, whose section prefix is
// prefix. It reports whether the walk should go on.
func walkMessage(root *Part, prefix string, nested bool, fn func(string, *Part) bool) bool {
	if root == nil {
		return true
	}
	if !root.IsMultipart() {
		return walkPart(root, joinSection(prefix, 1), nested, fn)
	}
	if !fn(prefix, root) {
		return false
	}
	for i, c := range root.Children {
		if !walkPart(c, joinSection(prefix, i+1), nested, fn) {
			return false
		}
	}
	return true
}

func walkPart(p *Part, section string, nested bool, fn func(string, *Part) bool) bool {
	if !fn(section, p) {
		return false
	}
	if p.IsMultipart() {
		for i, c := range p.Children {
			if !walkPart(c, joinSection(section, i+1), nested, fn) {
				return false
			}
		}
	}
	if nested && p.Message != nil {
		return walkMessage(p.Message.Body, section, nested, fn)
	}
	return true
}

func joinSection(prefix string, n int) string {
	if prefix == "" {
		return strconv.Itoa(n)
	}
	return prefix + "." + strconv.Itoa(n)
}
