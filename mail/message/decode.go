package message

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// wordDecoder decodes RFC 2047 encoded words with every charset that
// go-message's charset package knows; an unknown charset keeps the bytes.
var wordDecoder = &mime.WordDecoder{CharsetReader: lenientCharsetReader}

// lenientCharsetReader is charset.Reader, except that an unknown charset
// passes the bytes through; the caller repairs them to valid UTF-8.
func lenientCharsetReader(name string, r io.Reader) (io.Reader, error) {
	cr, err := charset.Reader(name, r)
	if err != nil {
		return r, nil //nolint:nilerr // an unknown charset keeps the bytes
	}
	return cr, nil
}

// decodeText decodes the RFC 2047 encoded words of an unstructured field
// value. Words that do not decode stay as written, and the result is
// valid UTF-8 (see headerUTF8).
func decodeText(s string) string {
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return headerUTF8(s)
}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252 that differ from
// ISO-8859-1; zero entries (undefined) fall back to ISO-8859-1.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// headerUTF8 makes s valid UTF-8 the way mail clients read raw 8-bit
// header bytes: valid UTF-8 sequences (RFC 6532) are kept, and each byte
// that is not part of one is read as Windows-1252, the most common
// legacy header charset, so that no byte is lost.
func headerUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = CP1252(s[i])
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// toUTF8 converts a decoded text body in the named charset to UTF-8. An
// undeclared or ASCII charset that is not in fact valid UTF-8 is read as
// Windows-1252 (8-bit text without a charset); an unknown charset keeps
// the bytes, invalid sequences replaced by U+FFFD.
func toUTF8(name string, b []byte) string {
	name = strings.ToLower(strings.Trim(name, " \t\"'"))
	switch name {
	case "", "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968":
		if utf8.Valid(b) {
			return string(b)
		}
		return headerUTF8(string(b))
	case "utf-8", "utf8":
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "cp819", "ibm819":
		// Mailers label Windows-1252 text as ISO-8859-1; the WHATWG
		// Encoding Standard reads the label as Windows-1252, and so do we,
		// which only changes the C1 controls 0x80-0x9F into characters.
		name = "windows-1252"
	}
	r, err := charset.Reader(name, bytes.NewReader(b))
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, _ := io.ReadAll(r) // a decoder error keeps what was decoded
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// b64 maps a byte to its base64 value (both the standard and the URL-safe
// alphabets, RFC 4648), 0xFF for any other byte.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(std) {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeBase64 decodes src leniently (RFC 2045 §6.8 asks decoders to
// ignore characters outside the alphabet): other bytes are skipped, and
// padding ends a quantum, so that concatenated encodings decode too. With
// a nil dst it only counts the decoded bytes.
func decodeBase64(dst, src []byte) ([]byte, int64) {
	var acc uint32
	var n, total int64
	flush := func() {
		// A quantum of 2 or 3 sextets holds 1 or 2 bytes; 1 holds none.
		switch n {
		case 2:
			dst, total = appendOut(dst, total, byte(acc>>4))
		case 3:
			dst, total = appendOut(dst, total, byte(acc>>10))
			dst, total = appendOut(dst, total, byte(acc>>2))
		}
		acc, n = 0, 0
	}
	for _, c := range src {
		if c == '=' {
			flush()
			continue
		}
		v := b64[c]
		if v == 0xFF {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			if dst != nil {
				dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			}
			total += 3
			acc, n = 0, 0
		}
	}
	flush()
	return dst, total
}

func appendOut(dst []byte, total int64, c byte) ([]byte, int64) {
	if dst != nil {
		dst = append(dst, c)
	}
	return dst, total + 1
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: a soft line
// break may have spaces before its line break, an "=" not followed by two
// hex digits stays literal (rule 1 allows this robustness), and trailing
// white space of a line is dropped (rule 3). With a nil dst it only counts.
func decodeQP(dst, src []byte) ([]byte, int64) {
	var total int64
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '=':
			if i+2 < len(src) {
				hi, ok1 := unhex(src[i+1])
				lo, ok2 := unhex(src[i+2])
				if ok1 && ok2 {
					dst, total = appendOut(dst, total, hi<<4|lo)
					i += 2
					continue
				}
			}
			if j := skipBlanks(src, i+1); atEOL(src, j) {
				// A soft line break: skip up to its LF (the loop skips that).
				if j < len(src) && src[j] == '\r' {
					j++
				}
				i = j
				continue
			}
		case ' ', '\t', '\r':
			if c == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				break // a line break, kept
			}
			j := skipBlanks(src, i)
			if atEOL(src, j) {
				i = j - 1 // trailing white space is dropped
				continue
			}
			for ; i < j-1; i++ {
				dst, total = appendOut(dst, total, src[i])
			}
			c = src[i]
		}
		dst, total = appendOut(dst, total, c)
	}
	return dst, total
}

// atEOL reports whether b[i:] starts with a line break or is empty.
func atEOL(b []byte, i int) bool {
	return i == len(b) || b[i] == '\n' || (b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n')
}

// skipBlanks skips spaces, tabs and CRs that do not start a CRLF: the
// white space that quoted-printable drops at the end of a line (RFC 2045
// §6.7 rule 3; mime/quotedprintable drops a stray CR there too).
func skipBlanks(b []byte, i int) int {
	for ; i < len(b); i++ {
		crlf := b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n'
		if b[i] != ' ' && b[i] != '\t' && (b[i] != '\r' || crlf) {
			return i
		}
	}
	return i
}

// decodeTransfer undoes a Content-Transfer-Encoding. Encodings other than
// base64 and quoted-printable (7bit, 8bit, binary, and unknown ones, which
// RFC 2045 §6.4 says to treat as opaque) are returned as they are.
func decodeTransfer(enc string, body []byte) []byte {
	if !transforms(enc) {
		return body
	}
	return AppendDecoded(make([]byte, 0, len(body)), enc, body)
}

// AppendDecoded appends body with its Content-Transfer-Encoding enc
// ("base64" or "quoted-printable", lower case) undone to dst, leniently as
// RFC 2045 asks of decoders: base64 skips bytes outside its alphabet and
// lets padding end a quantum; quoted-printable keeps an "=" that does not
// start an escape and drops trailing white space. Any other encoding is
// appended as it is. It is the one decoder of the module: parsing, IMAP
// BINARY and SEARCH all use it, so they agree on every body.
func AppendDecoded(dst []byte, enc string, body []byte) []byte {
	switch enc {
	case "base64":
		if dst == nil {
			dst = make([]byte, 0, len(body)*3/4+3)
		}
		dst, _ = decodeBase64(dst, body)
	case "quoted-printable":
		if dst == nil {
			dst = make([]byte, 0, len(body))
		}
		dst, _ = decodeQP(dst, body)
	default:
		dst = append(dst, body...)
	}
	return dst
}

// DecodedSize is the length AppendDecoded would append, counted without
// allocating.
func DecodedSize(enc string, body []byte) int64 { return decodedSize(enc, body) }

// CP1252 returns the character that byte c stands for in Windows-1252,
// which is how Lightr reads 8-bit header bytes that are not UTF-8.
func CP1252(c byte) rune {
	if c >= 0x80 && c < 0xA0 && cp1252[c-0x80] != 0 {
		return cp1252[c-0x80]
	}
	return rune(c)
}

// transforms reports whether decodeTransfer changes a body of enc.
func transforms(enc string) bool {
	return enc == "base64" || enc == "quoted-printable"
}

// decodedSize is the size of the body once decodeTransfer has run, counted
// without allocating.
func decodedSize(enc string, body []byte) int64 {
	switch enc {
	case "base64":
		_, n := decodeBase64(nil, body)
		return n
	case "quoted-printable":
		_, n := decodeQP(nil, body)
		return n
	}
	return int64(len(body))
}
