package imap

import (
	"bytes"
	"strconv"
)

// This file follows the IMAP byte streams just far enough for clientConn:
// where each command and each response line starts, so that a literal's
// bytes are never taken for a command or a response (RFC 9051 §4.3).

// maxTag bounds the tag and command name clientConn looks at; a longer
// first word is no command of its own.
const maxTag = 64

// lineTail keeps the last bytes of a line, enough to see the literal
// announced at its end ("{4294967295+}\r\n" is 15 bytes) when the line
// arrives in pieces.
type lineTail struct {
	b [24]byte
	n int
}

func (t *lineTail) add(p []byte) {
	if len(p) >= len(t.b) {
		t.n = copy(t.b[:], p[len(p)-len(t.b):])
		return
	}
	if t.n+len(p) > len(t.b) {
		drop := t.n + len(p) - len(t.b)
		copy(t.b[:], t.b[drop:t.n])
		t.n -= drop
	}
	t.n += copy(t.b[t.n:], p)
}

func (t *lineTail) reset() { t.n = 0 }

// announced is the literal a line announces at its end, if ok.
type announced struct {
	n        int64
	sync, ok bool
}

// through follows the current line over b: it returns the bytes of b up
// to and with the line's LF and ended = true, or all of b and ended =
// false. At the end it says what literal the line announces, and is
// ready for the next line.
func (t *lineTail) through(b []byte) (n int, ended bool, lit announced) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		t.add(b)
		return len(b), false, announced{}
	}
	// Most lines come whole and announce no literal: the tail is only
	// needed for one that may.
	if end < 2 || b[end-2] == '}' || b[end-1] == '}' || t.n > 0 {
		t.add(b[:end+1])
		lit.n, lit.sync, lit.ok = t.literal()
		t.reset()
	}
	return end + 1, true, lit
}

// literal reports the literal the finished line announces at its end:
// "{N}", "{N+}" or "{N-}" (with "~" before it for BINARY) and whether it
// is synchronizing, that is, the sender waits for a "+" first.
func (t *lineTail) literal() (n int64, sync, ok bool) {
	b := bytes.TrimRight(t.b[:t.n], "\r\n")
	if len(b) < 3 || b[len(b)-1] != '}' {
		return 0, false, false
	}
	b = b[:len(b)-1]
	sync = true
	if c := b[len(b)-1]; c == '+' || c == '-' {
		sync, b = false, b[:len(b)-1]
	}
	open := bytes.LastIndexByte(b, '{')
	if open < 0 {
		return 0, false, false
	}
	n, err := strconv.ParseInt(string(b[open+1:]), 10, 64)
	if err != nil || n < 0 {
		return 0, false, false
	}
	return n, sync, true
}

// commandKind is what clientConn does with a command.
type commandKind int

const (
	cmdPass         commandKind = iota // go-imap's
	cmdID                              // answered here (RFC 2971)
	cmdStartTLS                        // done here
	cmdAuthenticate                    // refused here before TLS
	cmdTooLong                         // one of those, past maxIDLineSize
)

// classify looks at the start of a command line: its tag and name. It
// says decided = false while b is too short to tell.
func classify(b []byte) (kind commandKind, tag []byte, decided bool) {
	sp := bytes.IndexByte(b[:min(len(b), maxTag)], ' ')
	if sp <= 0 {
		if len(b) >= maxTag || bytes.ContainsAny(b, "\r\n") {
			return cmdPass, nil, true
		}
		return cmdPass, nil, false
	}
	tag = b[:sp]
	rest := b[sp+1:]
	end := bytes.IndexAny(rest[:min(len(rest), maxTag)], " \r\n")
	if end < 0 {
		if len(rest) >= maxTag {
			return cmdPass, tag, true
		}
		return cmdPass, tag, false
	}
	switch name := rest[:end]; {
	case bytes.EqualFold(name, []byte("ID")):
		return cmdID, tag, true
	case bytes.EqualFold(name, []byte("STARTTLS")):
		return cmdStartTLS, tag, true
	case bytes.EqualFold(name, []byte("AUTHENTICATE")):
		return cmdAuthenticate, tag, true
	}
	return cmdPass, tag, true
}

// capsLine tells whether a response line carries a capability list:
// "* CAPABILITY ...", or the CAPABILITY response code of a greeting or of
// a tagged OK. It says decided = false while b is too short to tell.
func capsLine(b []byte) (yes, decided bool) {
	if len(b) < 2 {
		return false, false
	}
	var rest []byte
	var forms []string
	switch b[0] {
	case '+':
		return false, true
	case '*':
		if b[1] != ' ' {
			return false, true
		}
		rest, forms = b[2:], []string{"CAPABILITY ", "OK [CAPABILITY ", "PREAUTH [CAPABILITY "}
	default:
		sp := bytes.IndexByte(b[:min(len(b), maxTag)], ' ')
		if sp < 0 {
			return false, len(b) >= maxTag || bytes.ContainsAny(b, "\r\n")
		}
		rest, forms = b[sp+1:], []string{"OK [CAPABILITY "}
	}
	undecided := false
	for _, f := range forms {
		switch {
		case len(rest) >= len(f):
			if string(rest[:len(f)]) == f {
				return true, true
			}
		case string(rest) == f[:len(rest)]:
			undecided = true
		}
	}
	return false, !undecided
}

// rewriteCaps returns line with its capability list passed through
// adjust. line is a whole line for which capsLine said yes.
func rewriteCaps(line []byte, adjust func([]string) []string) []byte {
	start := bytes.Index(line, []byte("CAPABILITY ")) + len("CAPABILITY ")
	end := bytes.IndexByte(line[start:], ']')
	if end < 0 { // "* CAPABILITY a b c\r\n"
		end = len(bytes.TrimRight(line[start:], "\r\n"))
	}
	caps := adjust(splitAtoms(line[start : start+end]))
	out := make([]byte, 0, len(line)+32)
	out = append(out, line[:start]...)
	for i, c := range caps {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, c...)
	}
	return append(out, line[start+end:]...)
}

func splitAtoms(b []byte) []string {
	var out []string
	for _, f := range bytes.Fields(b) {
		out = append(out, string(f))
	}
	return out
}

// Limits of RFC 2971 §3.3 on what a client may send in ID.
const (
	maxIDPairs    = 30
	maxIDField    = 30
	maxIDValue    = 1024
	maxIDLineSize = 8 << 10
)

// parseID reads the arguments of an ID command, everything after "ID ":
// NIL or a parenthesized list of field and value pairs, each a quoted
// string (values may be NIL). Atoms are taken as well, since some
// clients send them. ok is false for anything else.
func parseID(b []byte) (fields [][2]string, ok bool) {
	b = bytes.TrimRight(b, "\r\n")
	if bytes.EqualFold(b, []byte("NIL")) {
		return nil, true
	}
	if len(b) < 2 || b[0] != '(' || b[len(b)-1] != ')' {
		return nil, false
	}
	b = b[1 : len(b)-1]
	for len(b) > 0 {
		field, isNil, rest, good := idWord(b)
		if !good || isNil || len(field) > maxIDField || len(rest) < 2 || rest[0] != ' ' {
			return nil, false
		}
		value, _, rest, good := idWord(rest[1:])
		if !good || len(value) > maxIDValue || len(fields) == maxIDPairs {
			return nil, false
		}
		if len(rest) > 0 {
			if len(rest) < 2 || rest[0] != ' ' {
				return nil, false
			}
			rest = rest[1:]
		}
		fields, b = append(fields, [2]string{field, value}), rest
	}
	return fields, true
}

// idWord reads one quoted string or atom from the front of b.
func idWord(b []byte) (w string, isNil bool, rest []byte, ok bool) {
	if b[0] != '"' {
		end := bytes.IndexByte(b, ' ')
		if end < 0 {
			end = len(b)
		}
		atom := b[:end]
		if bytes.ContainsAny(atom, "()\"{\\") {
			return "", false, nil, false
		}
		if bytes.EqualFold(atom, []byte("NIL")) {
			return "", true, b[end:], true
		}
		return string(atom), false, b[end:], true
	}
	var s []byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; c {
		case '\\':
			if i+1 == len(b) || (b[i+1] != '\\' && b[i+1] != '"') {
				return "", false, nil, false
			}
			i++
			s = append(s, b[i])
		case '"':
			return string(s), false, b[i+1:], true
		default:
			s = append(s, c)
		}
	}
	return "", false, nil, false
}
