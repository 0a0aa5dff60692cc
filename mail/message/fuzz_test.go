package message

import (
	"bufio"
	"bytes"
	"net/textproto"
	"testing"
	"unicode/utf8"

	gmtextproto "github.com/emersion/go-message/textproto"
	"github.com/google/go-cmp/cmp"
)

// tightLimits makes the fuzzers reach the limits with small inputs.
var tightLimits = Limits{MaxDepth: 3, MaxParts: 8, MaxHeaderBytes: 200}

// FuzzParse checks that parse (Parse without its recover) does not panic
// and that what it returns keeps the invariants that the IMAP server and
// the API rely on. The seeds in testdata/fuzz/FuzzParse are real and
// broken messages.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, lim := range []Limits{Limits{}.withDefaults(), tightLimits} {
			checkParsed(t, raw, parse(raw, lim), lim)
		}
	})
}

// FuzzBodies checks Bodies and OpenAttachment on any input.
func FuzzBodies(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		text, html, err := Bodies(raw)
		if err != nil {
			t.Fatalf("Bodies: %v", err)
		}
		if !utf8.ValidString(text) || !utf8.ValidString(html) {
			t.Fatalf("Bodies returned invalid UTF-8: %q %q", text, html)
		}
		p := parse(raw, Limits{}.withDefaults())
		for i, want := range p.Attachments {
			a, data, err := OpenAttachment(raw, i)
			if err != nil {
				t.Fatalf("OpenAttachment(%d): %v", i, err)
			}
			if a.Size != int64(len(data)) || want.Size != a.Size {
				t.Fatalf("attachment %d: listed size %d, opened %d, %d bytes",
					i, want.Size, a.Size, len(data))
			}
		}
		if _, _, err := OpenAttachment(raw, len(p.Attachments)); err == nil {
			t.Fatal("OpenAttachment past the end: no error")
		}
	})
}

// FuzzHeaders checks Headers on any input, and that the fields it sees
// are the ones go-message reads wherever go-message reads the header.
func FuzzHeaders(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		hs, err := Headers(raw)
		if err != nil && len(raw) <= DefaultMaxHeaderBytes {
			t.Fatalf("Headers: %v", err)
		}
		for _, h := range hs {
			if !utf8.ValidString(h.Name) || !utf8.ValidString(h.Value) {
				t.Fatalf("invalid UTF-8 in %q: %q", h.Name, h.Value)
			}
		}
		gh, err := gmtextproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		hb := scanHeader(raw, 0, len(raw), DefaultMaxHeaderBytes, nil)
		var mine [][2]string
		for _, f := range hb.fields {
			mine = append(mine, [2]string{textproto.CanonicalMIMEHeaderKey(string(f.name)), unfold(f.value)})
		}
		if diff := cmp.Diff(headerFields(gh), mine); diff != "" {
			t.Fatalf("fields differ from go-message's (-go-message +scanHeader):\n%s", diff)
		}
	})
}

// checkParsed checks the invariants of one parse result.
func checkParsed(t *testing.T, raw []byte, p *Parsed, lim Limits) {
	t.Helper()
	if p.Root == nil || p.Env == nil {
		t.Fatal("nil Root or Env")
	}
	if p.HeaderSize < 0 || p.HeaderSize > int64(len(raw)) || p.HeaderSize != p.Root.BodyStart {
		t.Fatalf("HeaderSize %d, root body at %d, len %d", p.HeaderSize, p.Root.BodyStart, len(raw))
	}
	decoded, err := DecodeStructure(p.BodyStructure)
	if err != nil {
		t.Fatalf("DecodeStructure: %v", err)
	}
	// Compared as JSON: cmp's slice diff is exponential on deep trees, and
	// times in envelopes come back with another *time.Location.
	if again := encodeJSON(decoded); !bytes.Equal(again, p.BodyStructure) {
		t.Fatalf("BodyStructure does not round-trip:\n%s\n%s", p.BodyStructure, again)
	}
	if _, err := DecodeEnvelope(p.Envelope); err != nil {
		t.Fatalf("DecodeEnvelope: %v", err)
	}
	n := checkPart(t, raw, p.Root, 0, lim)
	if n > lim.MaxParts {
		t.Fatalf("%d parts, limit %d", n, lim.MaxParts)
	}
	checkSections(t, p.Root)
	if !utf8.ValidString(p.Preview) || len(p.Preview) > PreviewMaxBytes ||
		utf8.RuneCountInString(p.Preview) > PreviewMaxRunes {
		t.Fatalf("bad preview %q", p.Preview)
	}
	for _, s := range []string{p.Subject, p.From.Name, p.From.Email, p.MessageID} {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
	}
	for i, a := range p.Attachments {
		if a.Index != i || p.Root.Find(a.Part) == nil || a.Size < 0 {
			t.Fatalf("attachment %d: %+v", i, a)
		}
	}
}

// checkPart checks the offsets and shape of p and its subtree, and
// returns the number of parts in it.
func checkPart(t *testing.T, raw []byte, p *Part, depth int, lim Limits) int {
	t.Helper()
	if depth > lim.MaxDepth {
		t.Fatalf("depth %d past the limit %d", depth, lim.MaxDepth)
	}
	if p.HeaderStart < 0 || p.HeaderStart > p.BodyStart || p.BodyStart > p.BodyEnd ||
		p.BodyEnd > int64(len(raw)) {
		t.Fatalf("offsets %d %d %d out of order or past %d", p.HeaderStart, p.BodyStart, p.BodyEnd, len(raw))
	}
	if p.Size != p.BodyEnd-p.BodyStart {
		t.Fatalf("size %d for body [%d:%d]", p.Size, p.BodyStart, p.BodyEnd)
	}
	if p.Type == "multipart" && len(p.Children) == 0 {
		t.Fatal("multipart without children")
	}
	if isMessageType(p.Type, p.Subtype) != (p.Message != nil) {
		t.Fatalf("%s with Message %v", p.MediaType(), p.Message != nil)
	}
	n := 1
	prevEnd := p.BodyStart
	for _, c := range p.Children {
		if c.HeaderStart < prevEnd || c.BodyEnd > p.BodyEnd {
			t.Fatalf("child [%d:%d] outside or before [%d:%d]", c.HeaderStart, c.BodyEnd, prevEnd, p.BodyEnd)
		}
		prevEnd = c.BodyEnd
		n += checkPart(t, raw, c, depth+1, lim)
	}
	if m := p.Message; m != nil {
		if m.Envelope == nil || m.Body == nil ||
			m.Body.HeaderStart != p.BodyStart || m.Body.BodyEnd != p.BodyEnd {
			t.Fatalf("attached message does not cover the part's body")
		}
		n += checkPart(t, raw, m.Body, depth+1, lim)
	}
	return n
}

// checkSections checks that Find returns each part that Walk reports
// under its section, but for multipart roots of attached messages, which
// share the section of their message/rfc822 part.
func checkSections(t *testing.T, root *Part) {
	t.Helper()
	roots := map[*Part]bool{root: true}
	root.Walk(func(section string, p *Part) bool {
		if p.Message != nil {
			roots[p.Message.Body] = true
		}
		if roots[p] && p.IsMultipart() {
			return true
		}
		if got := root.Find(section); got != p {
			t.Fatalf("Find(%q) = %p, Walk reported %p", section, got, p)
		}
		return true
	})
}
