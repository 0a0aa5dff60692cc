package search

import (
	"bytes"
	"io"

	"github.com/emersion/go-message/charset"

	"github.com/lightr-mail/lightr/mail/message"
)

// The bounds of the MIME walk, those of mail/message's default Limits.
const (
	maxDepth = message.DefaultMaxDepth
	maxParts = message.DefaultMaxParts
)

// bodyText is the decoded, folded text of a message's body that BODY
// searches: its text parts, separated by NUL bytes (which no search
// string holds) so that no match spans two parts.
type bodyText struct {
	text  []byte
	dec   []byte // transfer-decoding scratch
	sub   headerText
	parts int
}

func (bt *bodyText) reset(raw []byte) {
	bt.text, bt.parts = bt.text[:0], 0
	bt.entity(raw, 0, false)
}

// mimeHeader holds the fields of an entity's header that the walk needs.
type mimeHeader struct {
	ctype, encoding, disposition []byte
	seen                         [3]bool
}

func (h *mimeHeader) add(name, value []byte) {
	// The first field of each name counts, as in go-message.
	for i, n := range [3]string{"content-type", "content-transfer-encoding", "content-disposition"} {
		if h.seen[i] || !bytes.EqualFold(name, []byte(n)) {
			continue
		}
		h.seen[i] = true
		switch i {
		case 0:
			h.ctype = value
		case 1:
			h.encoding = value
		case 2:
			h.disposition = value
		}
	}
}

// entity adds the text of the MIME entity b (header and body) at nesting
// depth; digest reports a multipart/digest parent, whose parts default
// to message/rfc822 (RFC 2046 §5.1.5).
func (bt *bodyText) entity(b []byte, depth int, digest bool) {
	if bt.parts >= maxParts || len(bt.text) >= MaxTextBytes {
		return
	}
	bt.parts++
	var h mimeHeader
	body := b[scanFields(b, maxHeaderBytes, h.add):]

	mt, params := splitParams(h.ctype)
	if bytes.IndexByte(mt, '/') <= 0 {
		// A missing or invalid Content-Type (RFC 2045 §5.2).
		mt, params = []byte("text/plain"), nil
		if digest {
			mt = []byte("message/rfc822")
		}
	}
	enc := trimBlanks(h.encoding)
	switch {
	case hasPrefixFold(mt, "multipart/"):
		if depth >= maxDepth {
			return
		}
		isDigest := bytes.EqualFold(mt, []byte("multipart/digest"))
		if b := param(params, "boundary"); len(b) > 0 && bt.multipart(body, b, depth, isDigest) {
			return
		}
		// Without a boundary or a delimiter the body is likely text, as
		// mail/message reports it.
		bt.appendText(body, enc, nil)
	case bytes.EqualFold(mt, []byte("message/rfc822")) || bytes.EqualFold(mt, []byte("message/global")):
		// An attached message is part of the body: its header as TEXT
		// shows header fields, then its own parts. RFC 2046 §5.2.1 forbids
		// encoding it, and such a part is not walked.
		if depth >= maxDepth || bytes.EqualFold(enc, []byte("base64")) ||
			bytes.EqualFold(enc, []byte("quoted-printable")) {
			return
		}
		bt.sub.reset(body)
		bt.separate()
		bt.text = append(bt.text, bt.sub.text...)
		bt.entity(body, depth+1, false)
	case hasPrefixFold(mt, "text/"):
		disp, _ := splitParams(h.disposition)
		if bytes.EqualFold(disp, []byte("attachment")) {
			return
		}
		bt.appendText(body, enc, param(params, "charset"))
	}
}

// multipart adds the parts of a multipart body, and reports false if it
// has no delimiter line for boundary at all (RFC 2046 §5.1.1).
func (bt *bodyText) multipart(body, boundary []byte, depth int, digest bool) bool {
	var buf [80]byte
	delim := append(append(buf[:0], "--"...), boundary...)
	pos := findDelim(body, 0, delim)
	if pos < 0 {
		return false
	}
	for {
		if bytes.HasPrefix(body[pos+len(delim):], []byte("--")) {
			return true // the close delimiter; the epilogue is not text
		}
		start := len(body)
		if i := bytes.IndexByte(body[pos:], '\n'); i >= 0 {
			start = pos + i + 1
		}
		next := findDelim(body, start, delim)
		if next < 0 {
			// No close delimiter: the part runs to the end.
			bt.entity(body[start:], depth+1, digest)
			return true
		}
		// The line break before a delimiter belongs to it.
		end := next
		if end > start && body[end-1] == '\n' {
			end--
		}
		if end > start && body[end-1] == '\r' {
			end--
		}
		bt.entity(body[start:end], depth+1, digest)
		pos = next
	}
}

// findDelim returns the offset of the first delimiter line at or after
// from, or -1: delim at the start of a line, followed by "--", blanks
// (transport padding) or the line's end.
func findDelim(b []byte, from int, delim []byte) int {
	for i := from; i < len(b); {
		j := bytes.Index(b[i:], delim)
		if j < 0 {
			return -1
		}
		k := i + j
		if k == 0 || b[k-1] == '\n' {
			rest := b[k+len(delim):]
			if len(rest) == 0 || rest[0] == '-' || rest[0] == ' ' || rest[0] == '\t' ||
				rest[0] == '\r' || rest[0] == '\n' {
				return k
			}
		}
		i = k + 1
	}
	return -1
}

// separate ends the previous part's text, if any.
func (bt *bodyText) separate() {
	if len(bt.text) > 0 {
		bt.text = append(bt.text, 0)
	}
}

// appendText decodes a text body (transfer encoding, then charset) and
// adds it, folded, within MaxTextBytes.
func (bt *bodyText) appendText(body, enc, cs []byte) {
	switch {
	case bytes.EqualFold(enc, []byte("base64")):
		bt.dec = message.AppendDecoded(bt.dec[:0], "base64", body)
		body = bt.dec
	case bytes.EqualFold(enc, []byte("quoted-printable")):
		bt.dec = message.AppendDecoded(bt.dec[:0], "quoted-printable", body)
		body = bt.dec
	}
	// Cutting may split a character; appendFold reads its bytes as
	// Windows-1252, which at worst adds a stray letter at the end.
	if room := MaxTextBytes - len(bt.text); len(body) > room {
		body = body[:max(room, 0)]
	}
	bt.separate()
	switch charsetClass(cs) {
	case csUTF8:
		bt.text = appendFold(bt.text, body, false)
	case csLatin:
		bt.text = appendFold(bt.text, body, true)
	default:
		r, err := charset.Reader(string(cs), bytes.NewReader(body))
		if err != nil {
			// An unknown charset: the ASCII in it is still searchable.
			bt.text = appendFold(bt.text, body, false)
			return
		}
		out, _ := io.ReadAll(r) // what decoded before an error is kept
		bt.text = appendFold(bt.text, out, false)
	}
}

// The charsets appendText decodes itself.
const (
	csUTF8 = iota
	csLatin
	csOther
)

// charsetClass sorts a charset label: undeclared, ASCII and UTF-8 labels
// are read as UTF-8 (with 8-bit bytes as Windows-1252), ISO-8859-1 and
// Windows-1252 labels as Windows-1252, as the WHATWG Encoding Standard
// reads the ISO-8859-1 label.
func charsetClass(cs []byte) int {
	cs = bytes.Trim(trimBlanks(cs), `"'`)
	for _, l := range [...]string{"", "utf-8", "utf8", "us-ascii", "ascii"} {
		if bytes.EqualFold(cs, []byte(l)) {
			return csUTF8
		}
	}
	for _, l := range [...]string{"iso-8859-1", "iso8859-1", "latin1", "windows-1252", "cp1252"} {
		if bytes.EqualFold(cs, []byte(l)) {
			return csLatin
		}
	}
	return csOther
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
