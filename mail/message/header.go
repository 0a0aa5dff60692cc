package message

import (
	"bytes"
	"strings"
)

// field is one header field as slices of the raw message: name trimmed,
// value everything after the colon up to the end of the field's last line
// (folds included, line break excluded).
type field struct {
	name  []byte
	value []byte
	vs    int // offset of value in raw, to extend it over folded lines
}

// headerBlock is the result of scanning one header block.
type headerBlock struct {
	fields    []field
	bodyStart int
	// truncated reports fields dropped or clipped at the size limit.
	truncated bool
	// known holds 1 + the index in fields of the first field of each
	// fieldKey, 0 when there is none.
	known [numFieldKeys]int32
}

// fieldKey names a header field that the parser uses.
type fieldKey int

// The fields that the parser reads.
const (
	fContentType fieldKey = iota
	fContentTransferEncoding
	fContentID
	fContentDescription
	fContentDisposition
	fContentLanguage
	fContentLocation
	fDate
	fSubject
	fFrom
	fSender
	fReplyTo
	fTo
	fCc
	fBcc
	fInReplyTo
	fMessageID
	numFieldKeys
)

var fieldKeys = map[string]fieldKey{
	"content-type":              fContentType,
	"content-transfer-encoding": fContentTransferEncoding,
	"content-id":                fContentID,
	"content-description":       fContentDescription,
	"content-disposition":       fContentDisposition,
	"content-language":          fContentLanguage,
	"content-location":          fContentLocation,
	"date":                      fDate,
	"subject":                   fSubject,
	"from":                      fFrom,
	"sender":                    fSender,
	"reply-to":                  fReplyTo,
	"to":                        fTo,
	"cc":                        fCc,
	"bcc":                       fBcc,
	"in-reply-to":               fInReplyTo,
	"message-id":                fMessageID,
}

// lookupKey returns the fieldKey of a field name, case-insensitively.
func lookupKey(name []byte) (fieldKey, bool) {
	var buf [32]byte
	if len(name) > len(buf) {
		return 0, false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	k, ok := fieldKeys[string(buf[:len(name)])]
	return k, ok
}

// value returns the unfolded value of the first field for k (the first,
// as go-message's Header.Get), and whether there is one.
func (hb *headerBlock) value(k fieldKey) (string, bool) {
	i := hb.known[k]
	if i == 0 {
		return "", false
	}
	return unfold(hb.fields[i-1].value), true
}

// lineEnd returns the offset just after the line that starts at pos: after
// its LF, or end.
func lineEnd(raw []byte, pos, end int) int {
	if i := bytes.IndexByte(raw[pos:end], '\n'); i >= 0 {
		return pos + i + 1
	}
	return end
}

// trimEOL drops a trailing LF and then one CR, as bufio.Reader.ReadLine
// (which go-message reads headers with) does.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// scanHeader reads the header block of the entity that starts at start and
// cannot go past end. It follows go-message's textproto.ReadHeader where
// that succeeds, and is lenient where it would fail:
//   - a blank line (CRLF or LF) ends the block; without one, end does;
//   - a line that starts with a space or tab continues the field above
//     (RFC 5322 §2.2.3); one before any field is skipped;
//   - a line that is not a field (no colon, or bytes that RFC 5322 §2.2
//     forbids in a name) ends the block, and the body starts on it, as
//     Postfix does; so does a delimiter line of the enclosing multipart
//     (delim, "--boundary"), so a part's header never swallows the next
//     part;
//   - a field with an empty name is skipped, as go-message does.
//
// Fields are recorded up to maxBytes from start; past it the block's end
// is still found, so that offsets stay right, but nothing is kept.
func scanHeader(raw []byte, start, end, maxBytes int, delim []byte) headerBlock {
	var hb headerBlock
	limit := start + maxBytes
	cur := -1 // index in hb.fields of the field being continued, or -1
	for pos := start; pos < end; {
		le := lineEnd(raw, pos, end)
		line := trimEOL(raw[pos:le])
		if len(line) == 0 {
			hb.bodyStart = le
			return hb
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur >= 0 {
				vs := hb.fields[cur].vs
				hb.fields[cur].value = raw[vs:max(vs, min(le, limit))]
				if le > limit {
					hb.truncated = true
				}
			}
			pos = le
			continue
		}
		if delim != nil && isDelimiterLine(raw[pos:le], delim) {
			hb.bodyStart = pos
			return hb
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			hb.bodyStart = pos
			return hb
		}
		name := bytes.Trim(line[:colon], " \t")
		if !validFieldName(name) {
			hb.bodyStart = pos
			return hb
		}
		cur = -1
		switch {
		case len(name) == 0:
			// Skipped, with its continuation lines.
		case pos >= limit:
			hb.truncated = true
		default:
			vs := pos + colon + 1
			value := raw[vs:max(vs, min(le, limit))]
			hb.fields = append(hb.fields, field{name: name, value: value, vs: vs})
			cur = len(hb.fields) - 1
			if k, ok := lookupKey(name); ok && hb.known[k] == 0 {
				hb.known[k] = int32(len(hb.fields))
			}
			if le > limit {
				hb.truncated = true
			}
		}
		pos = le
	}
	hb.bodyStart = end
	return hb
}

// validFieldName reports whether name has only the printable US-ASCII
// characters other than colon that RFC 5322 §2.2 allows (go-message's
// rule). An empty name is valid here and skipped by the caller.
func validFieldName(name []byte) bool {
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// unfold turns a raw field value into one line the way go-message does:
// each physical line loses its line break (LF, or CRLF) and its leading
// and trailing spaces and tabs, and the non-empty ones are joined with one
// space.
func unfold(v []byte) string {
	if i := bytes.IndexByte(v, '\n'); i < 0 || i == len(v)-1 {
		return string(bytes.Trim(dropLineBreak(v), " \t"))
	}
	var b strings.Builder
	b.Grow(len(v))
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = dropLineBreak(v[:i+1]), v[i+1:]
		} else {
			v = nil
		}
		line = bytes.Trim(line, " \t")
		if len(line) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(line)
	}
	return b.String()
}

// dropLineBreak drops a trailing LF or CRLF; a CR without LF is kept, as
// go-message keeps it.
func dropLineBreak(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}
