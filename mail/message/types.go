package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of the package.
var (
	// ErrNoAttachment is returned by OpenAttachment for an index that names
	// no attachment of the message.
	ErrNoAttachment = errors.New("message: no such attachment")
	// ErrHeaderTooLarge is returned by Headers, together with the fields
	// read so far, when the header block exceeds the default
	// Limits.MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("message: header block exceeds the size limit")
)

// Address is one mailbox of an address header: Email is the addr-spec as
// written, Name the display name decoded from RFC 2047 to UTF-8.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// String formats a as `Name <email>` (just the address without a name),
// quoting the name when RFC 5322 §3.4 requires it. The name stays UTF-8:
// the result is meant for display and storage, not for a header.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	name := a.Name
	if strings.ContainsAny(name, "()<>[]:;@\\,.\"") {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + a.Email + ">"
}

// Attachment describes one attachment of a message. Attachments are the
// leaf parts that are not a main text or HTML body; an attached message
// (message/rfc822) is one attachment and its own parts are not listed.
type Attachment struct {
	// Index is the 0-based position among the message's attachments, in
	// depth-first order; it is stable for a given raw message and Limits.
	Index int `json:"index"`
	// Part is the IMAP section path of the part (RFC 3501 §6.4.5).
	Part string `json:"part"`
	// Filename comes from the Content-Disposition filename parameter, else
	// from the Content-Type name parameter (RFC 2231 and RFC 2047 decoded).
	Filename string `json:"filename,omitempty"`
	// ContentType is the lower-case type/subtype as declared.
	ContentType string `json:"content_type"`
	// Size is the decoded size in bytes (the encoded size for encodings
	// this package does not decode).
	Size int64 `json:"size"`
	// Inline is set for a Content-Disposition of inline, or no disposition
	// and a Content-ID (a part that HTML references by cid:).
	Inline bool `json:"inline,omitempty"`
	// ContentID is the Content-ID without its angle brackets.
	ContentID string `json:"content_id,omitempty"`
}

// Parsed is what delivery caches about a message (see the package comment).
type Parsed struct {
	// Subject is decoded to UTF-8.
	Subject string
	// From is the first mailbox of the From field.
	From Address
	// To and Cc are the mailboxes of those fields, groups flattened.
	To, Cc []Address
	// Date is the Date field, nil if it is missing or does not parse.
	Date *time.Time
	// MessageID is the Message-ID without angle brackets.
	MessageID string
	// Preview is the start of the text (text/plain preferred, else the
	// HTML without markup), whitespace collapsed, valid UTF-8, at most
	// PreviewMaxRunes runes and PreviewMaxBytes bytes.
	Preview string
	// HasAttachments reports an attachment other than an inline part
	// referenced by Content-ID (an image that HTML shows).
	HasAttachments bool
	// Attachments lists the attachments; EncodeAttachments stores it.
	Attachments []Attachment
	// Envelope is the JSON of Env, for the message's envelope column.
	Envelope []byte
	// BodyStructure is the JSON of Root, for the body_structure column.
	BodyStructure []byte
	// HeaderSize is the size of the top-level header block in bytes,
	// including the blank line that ends it.
	HeaderSize int64
	// Truncated reports that a limit stopped the parse; the message is
	// still stored as received and the structure covers all of it.
	Truncated bool

	// Env is the decoded form of Envelope.
	Env *Envelope
	// Root is the decoded form of BodyStructure.
	Root *Part
}

// Limits bound the work of Parse on hostile input. A zero field takes its
// default.
type Limits struct {
	// MaxDepth bounds the nesting of multiparts and attached messages
	// (default 20). Deeper parts are kept as opaque leaves.
	MaxDepth int
	// MaxParts bounds the number of parts (default 500).
	MaxParts int
	// MaxHeaderBytes bounds each header block that is read (default 256
	// KiB); fields beyond it are ignored, though the block's end is still
	// found so that offsets stay right.
	MaxHeaderBytes int
}

// Default limits, applied to zero or negative Limits fields.
const (
	DefaultMaxDepth       = 20
	DefaultMaxParts       = 500
	DefaultMaxHeaderBytes = 256 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// Header is one header field: Name as written, Value unfolded and decoded
// from RFC 2047 where the encoded words are valid.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EncodeAttachments encodes an attachment list for the attachments column.
func EncodeAttachments(list []Attachment) ([]byte, error) {
	if list == nil {
		list = []Attachment{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encode attachments: %w", err)
	}
	return b, nil
}

// DecodeAttachments decodes what EncodeAttachments produced. Empty input
// is an empty list.
func DecodeAttachments(b []byte) ([]Attachment, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var list []Attachment
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode attachments: %w", err)
	}
	return list, nil
}

// encodeJSON marshals the package's own types. They hold only strings,
// numbers, maps of strings and times whose year is checked to be in
// range, so Marshal cannot fail; nil stands for the impossible error.
func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
