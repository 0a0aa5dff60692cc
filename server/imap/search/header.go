package search

import (
	"bytes"
	"io"
	"mime"

	"github.com/emersion/go-message/charset"

	"github.com/lightr-mail/lightr/mail/message"
)

// maxHeaderBytes bounds the part of a header block whose fields are
// searched, as mail/message bounds what it keeps.
const maxHeaderBytes = message.DefaultMaxHeaderBytes

// wordDecoder decodes RFC 2047 encoded words in any charset that
// go-message knows, passing the bytes of an unknown one through.
var wordDecoder = &mime.WordDecoder{
	CharsetReader: func(name string, r io.Reader) (io.Reader, error) {
		if cr, err := charset.Reader(name, r); err == nil {
			return cr, nil
		}
		return r, nil
	},
}

// scanFields calls fn with the name and the raw value (folds included) of
// each field of the header block at the start of b, and returns the
// offset where the body starts. The block ends at a blank line, at a line
// that is not a field (the body then starts on it, as Postfix reads such
// messages) or at the end of b. Fields past limit bytes are not reported.
func scanFields(b []byte, limit int, fn func(name, value []byte)) int {
	var name []byte
	vs, ve := 0, 0
	flush := func() {
		if name != nil && vs <= limit {
			fn(name, b[vs:ve])
		}
		name = nil
	}
	for pos := 0; pos < len(b); {
		end := len(b)
		if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
			end = pos + i + 1
		}
		line := trimEOL(b[pos:end])
		switch {
		case len(line) == 0:
			flush()
			return end
		case line[0] == ' ' || line[0] == '\t':
			// A folded line continues the field above (RFC 5322 §2.2.3).
			ve = pos + len(line)
		default:
			flush()
			colon := bytes.IndexByte(line, ':')
			if colon < 0 {
				return pos
			}
			// Blanks may trail a name ("Subject :", RFC 5322 §4.5) but
			// not sit inside one.
			name = trimRightBlanks(line[:colon])
			if bytes.IndexByte(name, ' ') >= 0 || bytes.IndexByte(name, '\t') >= 0 {
				return pos
			}
			if len(name) == 0 {
				name = nil // a field without a name is skipped
			}
			vs, ve = pos+colon+1, pos+len(line)
		}
		pos = end
	}
	flush()
	return len(b)
}

// unfold appends value without its line breaks (RFC 5322 §2.2.3) and
// without leading and trailing blanks.
func unfold(dst, value []byte) []byte {
	value = trimBlanks(value)
	for len(value) > 0 {
		i := bytes.IndexByte(value, '\n')
		if i < 0 {
			return append(dst, value...)
		}
		dst = append(dst, trimEOL(value[:i+1])...)
		value = value[i+1:]
	}
	return dst
}

// trimEOL drops the line break (LF or CRLF) that ends line, if any.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// span locates one field in headerText.text.
type span struct{ nameStart, nameEnd, valueStart, valueEnd int }

// headerText is the decoded, folded form of one header block:
// "NAME: VALUE\n" per field, which TEXT searches, and the position of
// each name and value, for HEADER.
type headerText struct {
	text    []byte
	fields  []span
	scratch []byte
}

func (h *headerText) reset(b []byte) {
	h.text, h.fields = h.text[:0], h.fields[:0]
	scanFields(b, maxHeaderBytes, h.add)
}

func (h *headerText) add(name, value []byte) {
	var f span
	f.nameStart = len(h.text)
	h.text = appendFold(h.text, name, false)
	f.nameEnd = len(h.text)
	h.text = append(h.text, ": "...)
	f.valueStart = len(h.text)

	h.scratch = unfold(h.scratch[:0], value)
	if bytes.Contains(h.scratch, []byte("=?")) {
		// Encoded words are rare enough that the allocations of the
		// decoder do not matter; a malformed one stays as written.
		if d, err := wordDecoder.DecodeHeader(string(h.scratch)); err == nil {
			h.scratch = append(h.scratch[:0], d...)
		}
	}
	h.text = appendFold(h.text, h.scratch, false)
	f.valueEnd = len(h.text)
	h.text = append(h.text, '\n')
	h.fields = append(h.fields, f)
}

// match reports whether a field named name (folded) holds needle in its
// value (RFC 9051 §6.4.4 HEADER); an empty needle asks for the field.
func (h *headerText) match(name, needle []byte) bool {
	for _, f := range h.fields {
		if !bytes.Equal(h.text[f.nameStart:f.nameEnd], name) {
			continue
		}
		if bytes.Contains(h.text[f.valueStart:f.valueEnd], needle) {
			return true
		}
	}
	return false
}
