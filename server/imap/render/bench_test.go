package render_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/server/imap/render"
)

// typical is a message as FETCH ENVELOPE BODYSTRUCTURE mostly sees one:
// multipart/mixed holding text and HTML alternatives and an attachment.
func typical(b *testing.B) ([]byte, *message.Parsed) {
	b.Helper()
	for _, m := range testMessages {
		if m.name == "nested" {
			return []byte(m.raw), message.Parse([]byte(m.raw), message.Limits{})
		}
	}
	b.Fatal("no nested test message")
	return nil, nil
}

// BenchmarkFetchStructure is the work of FETCH (ENVELOPE BODYSTRUCTURE)
// for one message: decode the two stored JSON columns and render them.
func BenchmarkFetchStructure(b *testing.B) {
	_, p := typical(b)
	b.ReportAllocs()
	for b.Loop() {
		env, err := message.DecodeEnvelope(p.Envelope)
		if err != nil {
			b.Fatal(err)
		}
		root, err := message.DecodeStructure(p.BodyStructure)
		if err != nil {
			b.Fatal(err)
		}
		render.Envelope(env)
		render.BodyStructure(root, true)
	}
}

// BenchmarkGoIMAPExtract is what go-imap's in-memory server does for the
// same FETCH: parse the message for both items, for comparison.
func BenchmarkGoIMAPExtract(b *testing.B) {
	raw, _ := typical(b)
	b.ReportAllocs()
	for b.Loop() {
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			b.Fatal(err)
		}
		imapserver.ExtractEnvelope(h)
		imapserver.ExtractBodyStructure(bytes.NewReader(raw))
	}
}

// BenchmarkDecodeStructure is the JSON decode alone.
func BenchmarkDecodeStructure(b *testing.B) {
	_, p := typical(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.BodyStructure)))
	for b.Loop() {
		if _, err := message.DecodeStructure(p.BodyStructure); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderStructure is the rendering alone, from decoded values.
func BenchmarkRenderStructure(b *testing.B) {
	_, p := typical(b)
	b.ReportAllocs()
	for b.Loop() {
		render.Envelope(p.Env)
		render.BodyStructure(p.Root, true)
	}
}

// BenchmarkSectionHeaderFields is the common header fetch of a message
// list (BODY.PEEK[HEADER.FIELDS (...)]).
func BenchmarkSectionHeaderFields(b *testing.B) {
	raw, p := typical(b)
	s := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true,
		HeaderFields: []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Content-Type"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.Section(raw, p.Root, s); err != nil {
			b.Fatal(err)
		}
	}
}
