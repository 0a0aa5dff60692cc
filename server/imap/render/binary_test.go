package render_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/server/imap/render"
)

// TestBinary_MatchesGoIMAP compares BINARY of every part of the
// well-formed messages with go-imap's ExtractBinarySection, which decodes
// with go-message.
func TestBinary_MatchesGoIMAP(t *testing.T) {
	for _, m := range testMessages {
		if !m.wellFormed {
			continue
		}
		pm := parse(t, []byte(m.raw))
		for _, path := range append([][]int{nil}, partPaths(pm.root)...) {
			for _, partial := range []*imap.SectionPartial{nil, {Offset: 3, Size: 7}} {
				got, err := render.Binary(pm.raw, pm.root, path, partial)
				if err != nil {
					t.Fatalf("%s BINARY[%v]: %v", m.name, path, err)
				}
				item := &imap.FetchItemBinarySection{Part: path, Partial: partial}
				want := imapserver.ExtractBinarySection(strings.NewReader(m.raw), item)
				if !bytes.Equal(got, want) {
					t.Errorf("%s BINARY[%v]%v:\n got %q\nwant %q", m.name, path, partial, got, want)
				}
			}
		}
	}
}

func TestBinary_Golden(t *testing.T) {
	byName := map[string]parsed{}
	for _, m := range testMessages {
		byName[m.name] = parse(t, []byte(m.raw))
	}
	tests := []struct {
		msg  string
		part []int
		want string
	}{
		{"single-base64", []int{1}, "Hello, world!\nSecond line.\n"},
		{"alternative", []int{2}, "<p>Café = coffee, a long line that is wrapped by a soft line break</p>\r\n"},
		{"mixed", []int{2}, "%PDF-1.4\n%%EOF\n"},
		{"nested", []int{1, 2, 2}, "\x89PNG\r\n\x1a\n"},
		// An attached message and a multipart come as they are.
		{"rfc822", []int{3}, crlf("From: dave@example.com\nSubject: Simple inner\nContent-Type: text/plain\n\n" +
			"Inner body line 1\nInner body line 2")},
		{"nested", []int{1, 2, 1}, "<img src=\"cid:img1\">"},
		{"nested", []int{7}, ""},
		// A cut-off part still decodes.
		{"unterminated-multipart", []int{2}, "\x00\x01\x02\x03\x04\x05"},
	}
	for _, tt := range tests {
		pm := byName[tt.msg]
		got, err := render.Binary(pm.raw, pm.root, tt.part, nil)
		if err != nil {
			t.Fatalf("%s BINARY[%v]: %v", tt.msg, tt.part, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s BINARY[%v]:\n got %q\nwant %q", tt.msg, tt.part, got, tt.want)
		}
		n, err := render.BinarySize(pm.raw, pm.root, tt.part)
		if err != nil || int(n) != len(tt.want) {
			t.Errorf("%s BINARY.SIZE[%v] = %d, %v; want %d", tt.msg, tt.part, n, err, len(tt.want))
		}
	}
}

func TestBinary_UnknownEncoding(t *testing.T) {
	pm := parse(t, []byte(testMessages[11].raw))
	if _, err := render.Binary(pm.raw, pm.root, []int{1}, nil); !errors.Is(err, render.ErrUnknownEncoding) {
		t.Errorf("Binary of x-uuencode: err = %v, want ErrUnknownEncoding", err)
	}
	if _, err := render.BinarySize(pm.raw, pm.root, []int{1}); !errors.Is(err, render.ErrUnknownEncoding) {
		t.Errorf("BinarySize of x-uuencode: err = %v, want ErrUnknownEncoding", err)
	}
	// The multipart that holds it is not decoded, and BODY[] is bytes.
	if _, err := render.Binary(pm.raw, pm.root, nil, nil); err != nil {
		t.Errorf("Binary of the whole message: %v", err)
	}
	if _, err := render.Section(pm.raw, pm.root, &imap.FetchItemBodySection{Part: []int{1}}); err != nil {
		t.Errorf("Section of an x-uuencode part: %v", err)
	}

	raw := []byte("Content-Transfer-Encoding: x-what\r\n\r\nbody\r\n")
	pm = parse(t, raw)
	for _, part := range [][]int{nil, {1}} {
		if _, err := render.Binary(raw, pm.root, part, nil); !errors.Is(err, render.ErrUnknownEncoding) {
			t.Errorf("Binary(%v) of a one-part x-what message: err = %v", part, err)
		}
		if _, err := render.BinarySize(raw, pm.root, part); !errors.Is(err, render.ErrUnknownEncoding) {
			t.Errorf("BinarySize(%v) of a one-part x-what message: err = %v", part, err)
		}
	}
}

// TestBinarySize_Corpus checks that BINARY.SIZE is the length of BINARY
// for every part of every corpus message.
func TestBinarySize_Corpus(t *testing.T) {
	for _, m := range corpus(t) {
		pm := parse(t, []byte(m.raw))
		for _, path := range append([][]int{nil}, partPaths(pm.root)...) {
			b, err := render.Binary(pm.raw, pm.root, path, nil)
			n, errSize := render.BinarySize(pm.raw, pm.root, path)
			if (err == nil) != (errSize == nil) || int(n) != len(b) {
				t.Errorf("%s [%v]: BINARY %d bytes (%v), BINARY.SIZE %d (%v)", m.name, path, len(b), err, n, errSize)
			}
		}
	}
}

// oneLeaf is a one-part message with the given encoding and body.
func oneLeaf(enc string, body []byte) []byte {
	h := fmt.Sprintf("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: %s\r\n\r\n", enc)
	return append([]byte(h), body...)
}

// TestBinary_Decoders checks the decoders against mime/quotedprintable
// and go-message on input they accept, and their leniency elsewhere.
func TestBinary_Decoders(t *testing.T) {
	qp := []string{
		"plain", "a=3Db", "soft=\r\nbreak", "lower=c3=a9", "trailing   \r\nspace\t\r\n", "end=",
		"=41=42\nLF", "keep = sign", "bad=4", "tab\there", "=\r\n", "", "x=  \r\ny",
	}
	for _, s := range qp {
		checkDecoder(t, "quoted-printable", []byte(s))
	}
	b64 := []string{"SGVsbG8=", "SGVs\r\nbG8h", "SGVsbG8", "SGVsbG8gd29ybGQ=\r\n", "", "QQ==", "QUI="}
	for _, s := range b64 {
		checkDecoder(t, "base64", []byte(s))
	}

	// Where the reference decoders fail, the readable bytes come out.
	lenient := []struct{ enc, in, want string }{
		{"quoted-printable", "ctl\x1bchar =ZZ end", "ctl\x1bchar =ZZ end"},
		{"quoted-printable", "a= b\r\nc", "a= b\r\nc"},
		{"base64", "SGVs*bG8h", "Hello!"},
		{"base64", "SGVsbG8h!!\r\nQ", "Hello!"},
	}
	for _, tt := range lenient {
		raw := oneLeaf(tt.enc, []byte(tt.in))
		pm := parse(t, raw)
		got, err := render.Binary(raw, pm.root, []int{1}, nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %q: %q, %v; want %q", tt.enc, tt.in, got, err, tt.want)
		}
	}
}

// checkDecoder compares Binary of a one-part message with the reference
// decoding of body, when the reference accepts it.
func checkDecoder(tb testing.TB, enc string, body []byte) {
	tb.Helper()
	raw := oneLeaf(enc, body)
	var want []byte
	var err error
	switch enc {
	case "quoted-printable":
		want, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	default:
		want = imapserver.ExtractBinarySection(bytes.NewReader(raw), &imap.FetchItemBinarySection{Part: []int{1}})
		if want == nil && len(body) > 0 {
			err = errors.New("go-message refused it")
		}
	}
	pm := parse(tb, raw)
	got, gerr := render.Binary(raw, pm.root, []int{1}, nil)
	if gerr != nil {
		tb.Fatalf("%s %q: %v", enc, body, gerr)
	}
	n, _ := render.BinarySize(raw, pm.root, []int{1})
	if int(n) != len(got) {
		tb.Fatalf("%s %q: BINARY.SIZE %d, BINARY %d bytes", enc, body, n, len(got))
	}
	if err == nil && !bytes.Equal(got, want) {
		tb.Fatalf("%s %q:\n got %q\nwant %q", enc, body, got, want)
	}
}
