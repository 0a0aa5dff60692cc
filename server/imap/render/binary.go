package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/message"
)

// ErrUnknownEncoding is returned by Binary and BinarySize for a part
// whose Content-Transfer-Encoding they cannot decode; the server answers
// NO [UNKNOWN-CTE] (RFC 9051 §7.1).
var ErrUnknownEncoding = errors.New("render: unknown content-transfer-encoding")

// Binary returns the bytes of BINARY[part]<partial> (RFC 3516 §4.2, RFC
// 9051 §6.4.5): the body of the numbered part with its
// Content-Transfer-Encoding undone. Parts are numbered as in Section.
// A part that is a multipart or an attached message is returned as it
// is, since RFC 2045 §6.4 allows only identity encodings on them; an
// empty part list is the whole message, its body decoded when the
// message is not multipart (as go-imap does). A part number that names
// no part yields the empty string. The result may share memory with
// raw.
//
// The error wraps ErrUnknownEncoding for an encoding other than 7bit,
// 8bit, binary, base64 and quoted-printable; it is also non-nil when
// root is nil.
func Binary(raw []byte, root *message.Part, part []int, partial *imap.SectionPartial) ([]byte, error) {
	if root == nil {
		return nil, errNoStructure
	}
	p := binaryPart(root, part)
	if p == nil {
		return nil, nil
	}
	body, err := decodedBody(raw, p)
	if err != nil {
		return nil, err
	}
	if len(part) == 0 {
		// The whole message: its header, then its body decoded.
		if decodes(root) {
			h := root.Header(raw)
			body = append(append(make([]byte, 0, len(h)+len(body)), h...), body...)
		} else {
			body = raw
		}
	}
	return Partial(body, partial), nil
}

// BinarySize returns the size of BINARY[part] for BINARY.SIZE[part]
// (RFC 3516 §4.2), counted without building the decoded bytes for
// base64, and clamped to the range of IMAP's number. Errors are those of
// Binary.
func BinarySize(raw []byte, root *message.Part, part []int) (uint32, error) {
	if root == nil {
		return 0, errNoStructure
	}
	p := binaryPart(root, part)
	if p == nil {
		return 0, nil
	}
	if len(part) == 0 && !decodes(root) {
		// The whole message as stored, once the encoding is known.
		if _, err := decodedBody(raw, root); err != nil {
			return 0, err
		}
		return clampSize(int64(len(raw))), nil
	}
	var n int64
	if p.Encoding == "base64" && decodes(p) {
		n = base64Size(p.Body(raw))
	} else {
		body, err := decodedBody(raw, p)
		if err != nil {
			return 0, err
		}
		n = int64(len(body))
	}
	if len(part) == 0 {
		n += int64(len(root.Header(raw)))
	}
	return clampSize(n), nil
}

// clampSize clamps n to the range of IMAP's number.
func clampSize(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// binaryPart returns the part that part names, root for none.
func binaryPart(root *message.Part, part []int) *message.Part {
	if len(part) == 0 {
		return root
	}
	return root.Find(sectionPath(part))
}

func isComposite(p *message.Part) bool {
	return p.IsMultipart() || p.Message != nil
}

// decodes reports whether decodedBody changes p's body.
func decodes(p *message.Part) bool {
	return !isComposite(p) && (p.Encoding == "base64" || p.Encoding == "quoted-printable")
}

// decodedBody returns p's body with its transfer encoding undone.
func decodedBody(raw []byte, p *message.Part) ([]byte, error) {
	body := p.Body(raw)
	if isComposite(p) {
		return body, nil
	}
	switch p.Encoding {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		return decodeBase64(body), nil
	case "quoted-printable":
		return decodeQP(body), nil
	}
	return nil, fmt.Errorf("decode %q: %w", p.Encoding, ErrUnknownEncoding)
}

// base64Alphabet reports the bytes of the standard base64 alphabet.
var base64Alphabet = func() (t [256]bool) {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(std) {
		t[std[i]] = true
	}
	return t
}()

// base64Digits returns the alphabet bytes of src, dropping a last lone
// digit, which carries no whole byte. RFC 2045 §6.8 asks decoders to
// ignore bytes outside the alphabet (line breaks, and garbage); padding
// is implied by the length.
func base64Digits(src []byte) []byte {
	digits := make([]byte, 0, len(src))
	for _, c := range src {
		if base64Alphabet[c] {
			digits = append(digits, c)
		}
	}
	if len(digits)%4 == 1 {
		digits = digits[:len(digits)-1]
	}
	return digits
}

func decodeBase64(src []byte) []byte {
	digits := base64Digits(src)
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(digits)))
	// Only alphabet bytes remain and no length leaves a lone digit, so
	// the lenient (non-strict) decoder cannot fail.
	n, _ := base64.RawStdEncoding.Decode(out, digits)
	return out[:n]
}

// base64Size is len(decodeBase64(src)), counted.
func base64Size(src []byte) int64 {
	var n int64
	for _, c := range src {
		if base64Alphabet[c] {
			n++
		}
	}
	return n/4*3 + [4]int64{0, 0, 1, 2}[n%4]
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7). It agrees with
// mime/quotedprintable wherever that succeeds, and where it fails keeps
// going: an "=" without two hex digits is kept as written and other
// bytes pass through, as rule 1 of §6.7 suggests a robust decoder does.
// Trailing white space of each line is dropped (rule 3), and a line that
// then ends in "=" is a soft line break, joined to the next one (rule 5).
func decodeQP(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for len(src) > 0 {
		line, eol := src, []byte(nil)
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, eol = src[:i], src[i:i+1]
			if i > 0 && src[i-1] == '\r' {
				line, eol = src[:i-1], src[i-1:i+1]
			}
			src = src[i+1:]
		} else {
			src = nil
		}
		line = trimWSP(line)
		if n := len(line); n > 0 && line[n-1] == '=' {
			line, eol = line[:n-1], nil
		}
		out = appendQPLine(out, line)
		out = append(out, eol...)
	}
	return out
}

func appendQPLine(out, line []byte) []byte {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
			c = unhex(line[i+1])<<4 | unhex(line[i+2])
			i += 2
		}
		out = append(out, c)
	}
	return out
}

// trimWSP drops the white space at the end of a line, a stray CR
// included, as mime/quotedprintable does.
func trimWSP(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
