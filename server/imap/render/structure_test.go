package render_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/server/imap/render"
)

// normalize applies to go-imap's structure the documented difference in
// encodings (see the package comment): lower case, and RFC 2045 §6.1's
// default. Line counts are compared separately, and the default
// Content-Type (which go-imap reports without its charset) is tested
// apart.
func normalize(bs imap.BodyStructure, extended bool) imap.BodyStructure {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for i, c := range bs.Children {
			bs.Children[i] = normalize(c, extended)
		}
		if !extended {
			bs.Extended = nil
		}
	case *imap.BodyStructureSinglePart:
		bs.Encoding = strings.ToLower(bs.Encoding)
		if bs.Encoding == "" {
			bs.Encoding = "7bit"
		}
		if m := bs.MessageRFC822; m != nil {
			m.BodyStructure = normalize(m.BodyStructure, extended)
		}
		if !extended {
			bs.Extended = nil
		}
	}
	return bs
}

var structureOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(imap.BodyStructureText{}, "NumLines"),
	cmpopts.IgnoreFields(imap.BodyStructureMessageRFC822{}, "NumLines"),
}

// TestBodyStructure_MatchesGoIMAP compares BODY and BODYSTRUCTURE with
// go-imap's ExtractBodyStructure for every well-formed test message.
func TestBodyStructure_MatchesGoIMAP(t *testing.T) {
	for _, m := range testMessages {
		if !m.wellFormed {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			pm := parse(t, []byte(m.raw))
			for _, extended := range []bool{false, true} {
				got := render.BodyStructure(pm.root, extended)
				want := normalize(imapserver.ExtractBodyStructure(strings.NewReader(m.raw)), extended)
				if diff := cmp.Diff(want, got, structureOpts); diff != "" {
					t.Errorf("extended=%v: (-go-imap +ours)\n%s", extended, diff)
				}
				checkWritable(t, got, extended)
			}
		})
	}
}

// TestBodyStructure_Lines checks line counts, which differ from go-imap's
// for a body whose last line has no line break.
func TestBodyStructure_Lines(t *testing.T) {
	var alt, fwd parsed
	for _, m := range testMessages {
		switch m.name {
		case "alternative":
			alt = parse(t, []byte(m.raw))
		case "rfc822":
			fwd = parse(t, []byte(m.raw))
		}
	}
	bs := render.BodyStructure(alt.root, true).(*imap.BodyStructureMultiPart)
	// "Plain text\r\ntwo lines" before the boundary's line break: go-imap
	// counts 1.
	if n := bs.Children[0].(*imap.BodyStructureSinglePart).Text.NumLines; n != 2 {
		t.Errorf("alternative part 1: %d lines, want 2", n)
	}
	if n := bs.Children[1].(*imap.BodyStructureSinglePart).Text.NumLines; n != 2 {
		t.Errorf("alternative part 2: %d lines, want 2", n)
	}
	bs = render.BodyStructure(fwd.root, false).(*imap.BodyStructureMultiPart)
	if n := bs.Children[2].(*imap.BodyStructureSinglePart).MessageRFC822.NumLines; n != 6 {
		t.Errorf("rfc822 part 3: %d lines, want 6", n)
	}
}

// TestBodyStructure_Defaults checks RFC 2045 §5.2: a part without a
// Content-Type is text/plain; charset=us-ascii, 7bit.
func TestBodyStructure_Defaults(t *testing.T) {
	pm := parse(t, []byte(testMessages[6].raw))
	want := &imap.BodyStructureSinglePart{
		Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
		Encoding: "7bit", Size: 17, Text: &imap.BodyStructureText{NumLines: 1},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
	if diff := cmp.Diff(want, render.BodyStructure(pm.root, true)); diff != "" {
		t.Errorf("%s: (-want +got)\n%s", testMessages[6].name, diff)
	}
}

// TestBodyStructure_Writable renders every corpus message, broken ones
// included, and checks what go-imap's writer requires.
func TestBodyStructure_Writable(t *testing.T) {
	for _, m := range corpus(t) {
		pm := parse(t, []byte(m.raw))
		for _, extended := range []bool{false, true} {
			checkWritable(t, render.BodyStructure(pm.root, extended), extended)
		}
	}
}

// TestBodyStructure_BrokenInvariants renders structures that break
// message.Part's invariants, as a stale or hand-built one could.
func TestBodyStructure_BrokenInvariants(t *testing.T) {
	parts := []*message.Part{
		nil,
		{Type: "multipart", Subtype: "mixed"},
		{Type: "message", Subtype: "rfc822", Encoding: "7bit"},
		{Type: "message", Subtype: "rfc822", Message: &message.EmbeddedMessage{}},
		{Type: "multipart", Subtype: "mixed", Children: []*message.Part{
			{Type: "message", Subtype: "global", Message: &message.EmbeddedMessage{Body: &message.Part{}}},
		}},
		{Type: "text", Subtype: "plain", Size: 1 << 40},
	}
	for _, p := range parts {
		for _, extended := range []bool{false, true} {
			checkWritable(t, render.BodyStructure(p, extended), extended)
		}
	}
	got := render.BodyStructure(&message.Part{Type: "text", Size: 1 << 40}, false)
	if s := got.(*imap.BodyStructureSinglePart).Size; s != 1<<32-1 {
		t.Errorf("size of 1 TiB rendered as %d", s)
	}
}

// checkWritable fails where go-imap's FETCH writer would panic or break
// RFC 9051's grammar: a multipart without children, a missing extension
// for BODYSTRUCTURE, an attached message without a structure, and a
// message or multipart type on a leaf without its fields.
func checkWritable(tb testing.TB, bs imap.BodyStructure, extended bool) {
	tb.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 {
			tb.Fatalf("multipart/%s without children", bs.Subtype)
		}
		if extended && bs.Extended == nil {
			tb.Fatalf("multipart/%s without extension data", bs.Subtype)
		}
		for _, c := range bs.Children {
			checkWritable(tb, c, extended)
		}
	case *imap.BodyStructureSinglePart:
		if extended && bs.Extended == nil {
			tb.Fatalf("%s without extension data", bs.MediaType())
		}
		if m := bs.MessageRFC822; m != nil {
			if m.BodyStructure == nil {
				tb.Fatalf("%s without a body structure", bs.MediaType())
			}
			checkWritable(tb, m.BodyStructure, extended)
		} else if bs.Type == "message" && (bs.Subtype == "rfc822" || bs.Subtype == "global") ||
			bs.Type == "multipart" {
			tb.Fatalf("%s leaf without its fields", bs.MediaType())
		}
		if bs.Type == "text" && bs.Text == nil {
			tb.Fatalf("%s without a line count", bs.MediaType())
		}
	default:
		tb.Fatalf("body structure of type %T", bs)
	}
}

// TestEnvelope_MatchesGoIMAP compares ENVELOPE with go-imap's
// ExtractEnvelope of the message header, for the well-formed messages
// (go-imap drops groups and reads 8-bit headers its own way).
func TestEnvelope_MatchesGoIMAP(t *testing.T) {
	for _, m := range testMessages {
		if !m.wellFormed {
			continue
		}
		pm := parse(t, []byte(m.raw))
		h, err := textproto.ReadHeader(bufioReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		want := imapserver.ExtractEnvelope(h)
		if diff := cmp.Diff(want, render.Envelope(pm.env), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: (-go-imap +ours)\n%s", m.name, diff)
		}
	}
}

func TestEnvelope_Golden(t *testing.T) {
	byName := map[string]parsed{}
	for _, m := range testMessages {
		byName[m.name] = parse(t, []byte(m.raw))
	}
	tests := []struct {
		msg  string
		want *imap.Envelope
	}{
		{"plain", &imap.Envelope{
			Date:    time.Date(2025, 6, 2, 9, 59, 0, 0, time.UTC),
			Subject: "Hello \U0001F44B world",
			From:    []imap.Address{{Name: "Alice Example", Mailbox: "alice", Host: "example.org"}},
			To: []imap.Address{
				{Name: "Bob", Mailbox: "bob", Host: "example.com"}, {Mailbox: "carol", Host: "example.com"},
			},
			Cc:        []imap.Address{{Name: "Danièle", Mailbox: "dani", Host: "example.net"}},
			InReplyTo: []string{"m0@example.org", "mx@example.org"},
			MessageID: "m1@example.org",
		}},
		{"groups", &imap.Envelope{
			Subject: "Groups",
			From:    []imap.Address{{Mailbox: "alice", Host: "example.org"}},
			To:      []imap.Address{{Mailbox: "undisclosed-recipients"}, {}},
			Cc: []imap.Address{
				{Mailbox: "Team"}, {Mailbox: "bob", Host: "example.com"},
				{Name: "Carol C", Mailbox: "carol", Host: "example.com"}, {},
				{Mailbox: "dave", Host: "example.com"},
			},
		}},
		{"8bit-headers", &imap.Envelope{
			Subject: "Grüße aus Köln",
			From:    []imap.Address{{Name: "Jürgen", Mailbox: "j", Host: "example.org"}},
			To:      []imap.Address{{Name: "René", Mailbox: "rene", Host: "example.fr"}},
		}},
		{"headers-only", &imap.Envelope{
			Subject: "no body",
			From:    []imap.Address{{Mailbox: "alice", Host: "example.org"}},
		}},
	}
	for _, tt := range tests {
		got := render.Envelope(byName[tt.msg].env)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.msg, diff)
		}
		// Absent Sender and Reply-To must be nil for go-imap's writer to
		// report From in their place (RFC 9051 §7.5.2).
		if got.Sender != nil || got.ReplyTo != nil {
			t.Errorf("%s: Sender %v, ReplyTo %v, want nil", tt.msg, got.Sender, got.ReplyTo)
		}
	}
	if got := render.Envelope(nil); !cmp.Equal(got, &imap.Envelope{}) {
		t.Errorf("Envelope(nil) = %+v", got)
	}
	if got := render.Envelope(&message.Envelope{Sender: []message.EnvelopeAddress{}}); got.Sender != nil {
		t.Errorf("an empty Sender list rendered as %#v, want nil", got.Sender)
	}
}
