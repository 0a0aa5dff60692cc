package render

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/message"
)

// errNoStructure is returned for a nil structure or section.
var errNoStructure = errors.New("render: no body structure or section")

// Section returns the bytes of BODY[section]<partial> (RFC 9051 §6.4.5)
// of the raw message whose decoded cached structure is root. The result
// may share memory with raw, so the caller must not modify it; a nil
// result is the empty string.
//
// Part numbers follow message.Part.Find: a message that is not
// multipart has a part 1, its body. MIME is the MIME header of the
// numbered part; HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT and TEXT refer
// to the message attached by a message/rfc822 part, and to the part's
// own header and body for a part of another type, a case that the RFC
// leaves undefined (go-imap answers it the same way). A part number
// that names no part yields the empty string rather than an error, as in
// go-imap, since RFC 9051 treats it as a request for nothing.
//
// The error is non-nil only when root or s is nil.
func Section(raw []byte, root *message.Part, s *imap.FetchItemBodySection) ([]byte, error) {
	if root == nil || s == nil {
		return nil, errNoStructure
	}

	// The entity whose header and body the specifier picks from.
	ent := root
	if len(s.Part) > 0 {
		ent = root.Find(sectionPath(s.Part))
		if ent == nil {
			return nil, nil
		}
	}

	var b []byte
	switch s.Specifier {
	case imap.PartSpecifierNone:
		if len(s.Part) == 0 {
			b = raw
		} else {
			b = ent.Body(raw)
		}
	case imap.PartSpecifierMIME:
		b = ent.Header(raw)
	case imap.PartSpecifierHeader, imap.PartSpecifierText:
		// The root is the message itself; a numbered part is a message
		// only by attaching one.
		if len(s.Part) > 0 && ent.Message != nil && ent.Message.Body != nil {
			ent = ent.Message.Body
		}
		if s.Specifier == imap.PartSpecifierText {
			b = ent.Body(raw)
			break
		}
		b = ent.Header(raw)
		switch {
		case len(s.HeaderFields) > 0:
			b = filterHeader(b, s.HeaderFields, true)
		case len(s.HeaderFieldsNot) > 0:
			b = filterHeader(b, s.HeaderFieldsNot, false)
		}
	default:
		// go-imap's parser refuses other specifiers; one built by hand
		// names nothing.
		return nil, nil
	}
	return Partial(b, s.Partial), nil
}

// Partial returns the <offset.count> range of b (RFC 9051 §6.4.5): an
// offset past the end gives the empty string, a count past the end what
// there is. A nil p returns b.
func Partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	n := int64(len(b))
	if p.Offset < 0 || p.Offset >= n || p.Size <= 0 {
		return nil
	}
	// n-p.Offset cannot overflow, p.Offset+p.Size could.
	return b[p.Offset : p.Offset+min(p.Size, n-p.Offset)]
}

// sectionPath formats part numbers as message.Part.Find reads them.
func sectionPath(part []int) string {
	var sb strings.Builder
	for i, n := range part {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.Itoa(n))
	}
	return sb.String()
}
