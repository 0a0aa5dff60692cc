package render

import (
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
	if decodes(p) {
		n = message.DecodedSize(p.Encoding, p.Body(raw))
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
	case "base64", "quoted-printable":
		return message.AppendDecoded(nil, p.Encoding, body), nil
	}
	return nil, fmt.Errorf("decode %q: %w", p.Encoding, ErrUnknownEncoding)
}
