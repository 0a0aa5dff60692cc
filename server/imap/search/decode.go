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
