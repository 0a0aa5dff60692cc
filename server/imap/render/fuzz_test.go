package render_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/server/imap/render"
)

var fuzzSpecifiers = []imap.PartSpecifier{
	imap.PartSpecifierNone, imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME,
}

// FuzzSection parses arbitrary messages as delivery does and fetches a
// section chosen by the fuzzer: nothing may panic, every section must lie
// within the message, BINARY.SIZE must be BINARY's length, and the body
// structure must be writable by go-imap.
func FuzzSection(f *testing.F) {
	for i, m := range testMessages {
		f.Add([]byte(m.raw), []byte{1, 2}, byte(i), int64(i), int64(7), "Subject From")
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--"), []byte{1},
		byte(2), int64(0), int64(-1), "")
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nSubject: s\r\n"), []byte{1, 1}, byte(5), int64(1), int64(1<<62),
		"subject")
	f.Fuzz(func(t *testing.T, raw, path []byte, spec byte, off, size int64, fields string) {
		pm := parse(t, raw)
		part := make([]int, len(path))
		for i, c := range path {
			part[i] = int(c % 8)
		}
		s := &imap.FetchItemBodySection{Part: part, Specifier: fuzzSpecifiers[spec%4]}
		if s.Specifier == imap.PartSpecifierHeader && fields != "" {
			if spec&4 != 0 {
				s.HeaderFieldsNot = strings.Fields(fields)
			} else {
				s.HeaderFields = strings.Fields(fields)
			}
		}
		whole, err := render.Section(pm.raw, pm.root, s)
		if err != nil {
			t.Fatalf("%s: %v", describe(s), err)
		}
		checkWithin(t, pm.raw, whole, s)
		s.Partial = &imap.SectionPartial{Offset: off, Size: size}
		got, _ := render.Section(pm.raw, pm.root, s)
		if !bytes.Equal(got, render.Partial(whole, s.Partial)) {
			t.Fatalf("%s: %q, not the range of %q", describe(s), got, whole)
		}

		b, err := render.Binary(pm.raw, pm.root, part, nil)
		n, errSize := render.BinarySize(pm.raw, pm.root, part)
		if (err == nil) != (errSize == nil) || int(n) != len(b) {
			t.Fatalf("BINARY[%v]: %d bytes (%v), BINARY.SIZE %d (%v)", part, len(b), err, n, errSize)
		}

		checkWritable(t, render.BodyStructure(pm.root, spec&8 != 0), spec&8 != 0)
		render.Envelope(pm.env)
	})
}

// FuzzDecoders compares the base64 and quoted-printable decoding of
// Binary with mime/quotedprintable and go-message wherever those accept
// the input.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{"a=3Db=\r\nc", "SGVsbG8=\r\nQQ", "=ZZ\x1b", "bad=4\nx"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, qp bool) {
		enc := "base64"
		if qp {
			enc = "quoted-printable"
		}
		checkDecoder(t, enc, body)
	})
}
