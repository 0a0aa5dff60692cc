package render

import "bytes"

// filterHeader returns the fields of the header block h whose names are
// in names (keep) or not in names (!keep), in message order, each with
// its original bytes, continuation lines included, followed by the blank
// line that ends h. RFC 9051 §6.4.5 keeps that blank line in every
// header fetch, except for a message that has none; names match
// ASCII-case-insensitively and are otherwise exact.
//
// h is a header block as mail/message delimits it: field lines and
// their continuations, then a blank line if the message has one. A
// continuation line before the first field belongs to no field and is
// dropped.
func filterHeader(h []byte, names []string, keep bool) []byte {
	out := make([]byte, 0, len(h)/4)
	selected := false // whether the field being continued is kept
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]

		switch {
		case isBlankLine(line):
			out = append(out, line...)
			return out
		case line[0] == ' ' || line[0] == '\t':
			// A fold continues the field above (RFC 5322 §2.2.3).
		default:
			selected = matchName(fieldName(line), names) == keep
		}
		if selected {
			out = append(out, line...)
		}
	}
	return out
}

func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// fieldName returns the name of the field that starts on line: the bytes
// before the colon, without the white space that obsolete syntax allows
// before it (RFC 5322 §4.5).
func fieldName(line []byte) []byte {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		// mail/message ends a header block at such a line, so a block
		// holds none; should one appear, it matches no name.
		return nil
	}
	return bytes.TrimRight(line[:i], " \t")
}

func matchName(name []byte, names []string) bool {
	if len(name) == 0 {
		return false
	}
	for _, n := range names {
		if asciiEqualFold(name, n) {
			return true
		}
	}
	return false
}

// asciiEqualFold is bytes.EqualFold restricted to ASCII letters, the
// matching that RFC 9051 §6.4.5 asks for: "Subject" never matches a name
// spelt with a Unicode look-alike.
func asciiEqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
