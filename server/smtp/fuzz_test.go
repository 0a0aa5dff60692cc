package smtp

import (
	"bytes"
	"testing"
)

// FuzzWriteWithout feeds arbitrary client bytes to the header filter that
// runs on every accepted message. It must never panic, must keep the body
// (everything from the first blank line on) byte for byte, may only drop
// whole fields, and must never let a Return-Path through.
func FuzzWriteWithout(f *testing.F) {
	for _, seed := range []string{
		"Subject: hi\r\n\r\nbody\r\n",
		"Return-Path: <x@y>\r\nSubject: a\r\n\r\n",
		"Authentication-Results: mx.example.test; dkim=pass\r\n\r\nb",
		"Authentication-Results:\r\n mx.example.test;\r\n spf=pass\r\nX: y\r\n\r\n",
		"no colon line\r\n\r\n",
		"Subject: unterminated",
		"\r\n\r\n\r\n",
		"X: a\r\n\tcontinued\r\n continued\r\n\r\nReturn-Path: <in-body>\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b bytes.Buffer
		writeWithout(&b, raw, "mx.example.test")
		out := b.Bytes()
		if len(out) > len(raw) {
			t.Fatalf("output grew from %d to %d bytes", len(raw), len(out))
		}
		if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
			body := raw[i+2:]
			if !bytes.HasSuffix(out, body) {
				t.Fatalf("body changed:\n%q\n%q", raw, out)
			}
		}
		if !isSubsequenceOfFields(out, raw) {
			t.Fatalf("output is not raw with whole fields removed:\n%q\n%q", raw, out)
		}
		rest := out
		for n := fieldLen(rest); n > 0; n = fieldLen(rest) {
			if forbiddenField(rest[:n], "mx.example.test") {
				t.Fatalf("forbidden field kept: %q", rest[:n])
			}
			rest = rest[n:]
		}
	})
}

// isSubsequenceOfFields reports whether out can be made from raw by
// leaving out whole header fields.
func isSubsequenceOfFields(out, raw []byte) bool {
	for len(raw) > 0 {
		n := fieldLen(raw)
		if n == 0 {
			return bytes.Equal(out, raw)
		}
		if bytes.HasPrefix(out, raw[:n]) {
			out = out[n:]
		}
		raw = raw[n:]
	}
	return len(out) == 0
}

// FuzzBareNewline checks the smuggling guard against a plain definition:
// every CR is followed by LF and every LF preceded by CR.
func FuzzBareNewline(f *testing.F) {
	for _, seed := range []string{"a\r\nb\r\n", "a\nb", "a\rb", "\r", "\n", "\r\r\n", "x\r\n\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		clean := bytes.Count(b, []byte("\r")) == bytes.Count(b, []byte("\r\n")) &&
			bytes.Count(b, []byte("\n")) == bytes.Count(b, []byte("\r\n"))
		i := bareNewline(b)
		if clean != (i < 0) {
			t.Fatalf("bareNewline(%q) = %d, clean %v", b, i, clean)
		}
		if i >= 0 && b[i] != '\r' && b[i] != '\n' {
			t.Fatalf("bareNewline(%q) = %d points at %q", b, i, b[i])
		}
	})
}
