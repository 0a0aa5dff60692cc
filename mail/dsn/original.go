package dsn

import (
	"bytes"
	"errors"
	"mime/quotedprintable"
	"strings"

	"github.com/lightr-mail/lightr/mail/message"
)

// maxLine is the longest line RFC 5322 §2.1.1 allows, without its CRLF.
const maxLine = 998

// original is what a notification needs from the original message.
type original struct {
	// header is the header block with CRLF line endings, without the
	// blank line that ends it.
	header []byte
	// full is the whole message with CRLF line endings.
	full []byte
	// subject is the decoded Subject, one line of UTF-8.
	subject string
	// messageID is the Message-ID with its angle brackets, or empty when
	// it is missing or could not be copied into a header safely.
	messageID string
}

func readOriginal(raw []byte) original {
	full := toCRLF(raw)
	o := original{full: full, header: full[:headerEnd(full)]}

	// Past the header size limit Headers still returns the fields read so
	// far, which is enough to find the subject and the id.
	fields, err := message.Headers(raw)
	if err != nil && !errors.Is(err, message.ErrHeaderTooLarge) {
		return o
	}
	for _, f := range fields {
		switch strings.ToLower(f.Name) {
		case "subject":
			if o.subject == "" {
				o.subject = cleanLine(f.Value, 200, true)
			}
		case "message-id":
			if o.messageID == "" {
				o.messageID = msgID(f.Value)
			}
		}
	}
	return o
}

// msgID returns v when it is one msg-id (RFC 5322 §3.6.4) that can be
// written as it is: bracketed, printable ASCII, bounded.
func msgID(v string) string {
	v = strings.TrimSpace(v)
	if len(v) < 3 || len(v) > maxIDLen || v[0] != '<' || v[len(v)-1] != '>' {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return ""
		}
	}
	if strings.Count(v, "<") != 1 || strings.Count(v, ">") != 1 {
		return ""
	}
	return v
}

// headerEnd returns the offset of the blank line that ends the header
// block of a CRLF message, or len(b) when there is none.
func headerEnd(b []byte) int {
	if bytes.HasPrefix(b, []byte("\r\n")) {
		return 0
	}
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	return len(b)
}

// toCRLF returns b with every line ending, bare CR and bare LF included,
// as CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/32)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case b[i] == '\r' || b[i] == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// sevenBit reports whether CRLF text can travel unencoded in a 7bit
// part: ASCII without NUL, and no line longer than maxLine.
func sevenBit(b []byte) bool {
	line := 0
	for _, c := range b {
		switch {
		case c == 0 || c >= 0x80:
			return false
		case c == '\n':
			line = 0
		case c != '\r':
			line++
			if line > maxLine {
				return false
			}
		}
	}
	return true
}

// returned is the third part of a notification and what the explanation
// says about it.
type returned struct {
	part []byte
	// full reports that the whole original is returned.
	full bool
	// downgraded reports that the whole original was asked for, but only
	// the headers are returned.
	downgraded bool
	// cut reports that the header block was cut to fit.
	cut bool
}

// returned chooses the returned content (RFC 3464 §2.1, RFC 6522 §3): the
// whole original as message/rfc822 when RET=FULL asked for it, it fits
// and it is 7-bit clean (message/rfc822 allows no transfer encoding, RFC
// 2046 §5.2.1), else the header block as text/rfc822-headers.
func (b *Builder) returned(r *Report, o original) returned {
	if len(r.Original) == 0 {
		return returned{}
	}
	limit := b.MaxReturnSize
	if limit <= 0 {
		limit = DefaultMaxReturnSize
	}

	if r.Return == ReturnFull {
		if len(o.full) <= limit && sevenBit(o.full) {
			var buf bytes.Buffer
			writeField(&buf, "Content-Type", "message/rfc822")
			writeField(&buf, "Content-Description", "Undelivered message")
			buf.WriteString("\r\n")
			buf.Write(o.full)
			return returned{part: buf.Bytes(), full: true}
		}
	}

	header, cut := cutFields(o.header, limit)
	var buf bytes.Buffer
	if sevenBit(header) {
		writeField(&buf, "Content-Type", "text/rfc822-headers")
		writeField(&buf, "Content-Description", "Undelivered message headers")
		buf.WriteString("\r\n")
		buf.Write(header)
	} else {
		// UTF-8 header fields (RFC 6532), or lines too long for 7bit:
		// the part is text, so quoted-printable may carry it.
		writeField(&buf, "Content-Type", "text/rfc822-headers; charset=utf-8")
		writeField(&buf, "Content-Transfer-Encoding", "quoted-printable")
		writeField(&buf, "Content-Description", "Undelivered message headers")
		buf.WriteString("\r\n")
		writeQP(&buf, header)
	}
	return returned{part: buf.Bytes(), downgraded: r.Return == ReturnFull, cut: cut}
}

// cutFields returns the header block cut to at most limit octets before
// the start of a field, so that no field is cut in the middle.
func cutFields(h []byte, limit int) ([]byte, bool) {
	if len(h) <= limit {
		return h, false
	}
	end := 0
	for i := 0; i < limit; {
		j := bytes.Index(h[i:], []byte("\r\n"))
		if j < 0 || i+j+2 > limit {
			break
		}
		i += j + 2
		if i < len(h) && h[i] != ' ' && h[i] != '\t' {
			end = i
		}
	}
	return h[:end], true
}

// writeQP writes CRLF text as quoted-printable, whose lines are at most
// 76 octets (RFC 2045 §6.7).
func writeQP(buf *bytes.Buffer, text []byte) {
	w := quotedprintable.NewWriter(buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write(text)
	_ = w.Close()
}
