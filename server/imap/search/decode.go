package search

import "bytes"

const blanks = " \t\r\n"

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// trimBlanks drops the blanks (line breaks included) around b; unlike
// bytes.Trim it builds no cutset per call.
func trimBlanks(b []byte) []byte {
	return trimLeftBlanks(trimRightBlanks(b))
}

func trimLeftBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	return b
}

func trimRightBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// splitParams splits a Content-Type or Content-Disposition value into its
// value ("text/plain") and the parameters after it.
func splitParams(v []byte) (value, params []byte) {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v, params = v[:i], v[i+1:]
	}
	return trimBlanks(v), params
}

// param returns the value of the named parameter (RFC 2045 §5.1), quotes
// removed, or nil. It is lenient: a segment without "=" is skipped, and
// an unterminated quoted string runs to the end.
func param(params []byte, name string) []byte {
	p := params
	for len(p) > 0 {
		p = bytes.TrimLeft(p, blanks+";")
		eq := bytes.IndexAny(p, "=;")
		if eq < 0 {
			return nil
		}
		if p[eq] == ';' {
			p = p[eq:]
			continue
		}
		key := trimBlanks(p[:eq])
		p = trimLeftBlanks(p[eq+1:])
		var val []byte
		if len(p) > 0 && p[0] == '"' {
			end := quoteEnd(p)
			val, p = p[1:end], p[min(end+1, len(p)):]
		} else {
			end := bytes.IndexAny(p, blanks+";")
			if end < 0 {
				end = len(p)
			}
			val, p = p[:end], p[end:]
		}
		if bytes.EqualFold(key, []byte(name)) {
			return val
		}
	}
	return nil
}

// quoteEnd returns the offset of the quote that closes the quoted string
// at the start of p, or len(p).
func quoteEnd(p []byte) int {
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(p)
}

// b64Value maps a byte to its value in base64 (RFC 4648, both alphabets),
// 0xFF for a byte outside them.
var b64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// decodeBase64 appends the decoding of src to dst. As RFC 2045 §6.8 asks,
// bytes outside the alphabet are ignored; "=" ends a group of four, so
// that encodings glued together decode as well.
func decodeBase64(dst, src []byte) []byte {
	var acc uint32
	n := 0
	for _, c := range src {
		if c == '=' {
			dst = flushBase64(dst, acc, n)
			acc, n = 0, 0
			continue
		}
		v := b64Value[c]
		if v == 0xFF {
			continue
		}
		acc = acc<<6 | uint32(v)
		if n++; n == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	return flushBase64(dst, acc, n)
}

// flushBase64 appends the bytes of an incomplete group of n sextets.
func flushBase64(dst []byte, acc uint32, n int) []byte {
	switch n {
	case 2:
		return append(dst, byte(acc>>4))
	case 3:
		return append(dst, byte(acc>>10), byte(acc>>2))
	}
	return dst
}

// hexValue returns the value of a hexadecimal digit, or -1.
func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decodeQP appends the quoted-printable decoding of src (RFC 2045 §6.7)
// to dst. An "=" that starts neither an octet nor a soft line break is
// kept; blanks at the end of a line are kept too, since a search for
// them is harmless either way.
func decodeQP(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '=' {
			dst = append(dst, c)
			continue
		}
		if i+2 < len(src) {
			if hi, lo := hexValue(src[i+1]), hexValue(src[i+2]); hi >= 0 && lo >= 0 {
				dst = append(dst, byte(hi<<4|lo))
				i += 2
				continue
			}
		}
		// A soft line break: "=", optional blanks, then the line's end.
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		switch {
		case j == len(src):
			i = j
		case src[j] == '\n':
			i = j
		case src[j] == '\r' && j+1 < len(src) && src[j+1] == '\n':
			i = j + 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
