package message

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestOpenAttachment_Decodes(t *testing.T) {
	raw := readTestMessage(t, "mixed-attachments")
	p := Parse(raw, Limits{})
	a, data, err := OpenAttachment(raw, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p.Attachments[1], a); diff != "" {
		t.Errorf("attachment differs from the parsed list (-parsed +opened):\n%s", diff)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(data, []byte("%%EOF\n")) {
		t.Errorf("PDF content = %.20q...", data)
	}
	_, csv, err := OpenAttachment(raw, 2)
	if err != nil || string(csv) != "region,revenue\r\nnorth,1200\r\nsouth,980\r\n" {
		t.Errorf("CSV = %q, %v", csv, err)
	}
	csv[0] = 'X' // must not write into raw
	if bytes.Contains(raw, []byte("Xegion")) {
		t.Error("OpenAttachment returned a slice of raw")
	}
	for _, i := range []int{-1, 3} {
		if _, _, err := OpenAttachment(raw, i); !errors.Is(err, ErrNoAttachment) {
			t.Errorf("OpenAttachment(%d) error = %v, want ErrNoAttachment", i, err)
		}
	}
}

func TestHeaders_OrderAndDecoding(t *testing.T) {
	raw := readTestMessage(t, "utf8-headers")
	hs, err := Headers(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{"From", "Jürgen Müller <juergen@example.de>"},
		{"To", "undisclosed-recipients:;"},
		{"Cc", `Team: André <andre@example.fr>, "Zoë" <zoe@example.com>;, björn@例え.jp`},
		{"Reply-To", "Support <support@example.de>"},
		{"Subject", "Grüße aus München und Tschüss"},
		{"Date", "Fri, 07 Mar 2025 18:45:00 +0100 (CET)"},
		{"Message-ID", "<utf8-hdr-1@example.de>"},
		{"X-Unknown-Charset", "qapla'"},
		{"X-Broken-Word", "=?UTF-8?B?not base64?="},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=UTF-8"},
		{"Content-Transfer-Encoding", "8bit"},
	}
	if diff := cmp.Diff(want, hs); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}
}

func TestHeaders_TooLarge(t *testing.T) {
	raw := []byte("Subject: first\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 20000) + "\r\nbody")
	hs, err := Headers(raw)
	if !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("err = %v, want ErrHeaderTooLarge", err)
	}
	if len(hs) == 0 || hs[0].Value != "first" {
		t.Errorf("fields before the limit are lost: %d fields", len(hs))
	}
	p := Parse(raw, Limits{})
	if !p.Truncated || p.Subject != "first" || p.HeaderSize != int64(len(raw)-4) {
		t.Errorf("Parse: truncated %v, subject %q, header size %d", p.Truncated, p.Subject, p.HeaderSize)
	}
}

func TestParse_PreviewBounds(t *testing.T) {
	long := strings.Repeat("語", 1000)
	raw := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\n  \t" + long)
	p := Parse(raw, Limits{})
	if len(p.Preview) > PreviewMaxBytes || !utf8.ValidString(p.Preview) {
		t.Errorf("preview of %d bytes", len(p.Preview))
	}
	if want := strings.Repeat("語", PreviewMaxBytes/3); p.Preview != want {
		t.Errorf("preview = %q, want %d runes", p.Preview, PreviewMaxBytes/3)
	}
	raw = []byte("Content-Type: text/plain\r\n\r\n" + strings.Repeat("word  \r\n", 100))
	p = Parse(raw, Limits{})
	if n := utf8.RuneCountInString(p.Preview); n != PreviewMaxRunes-1 || strings.HasSuffix(p.Preview, " ") {
		t.Errorf("preview of %d runes: %q", n, p.Preview)
	}
}

func TestParse_EmptyAndGarbage(t *testing.T) {
	for _, raw := range []string{"", "\r\n", "\x00\xff", ":", " ", "--"} {
		p := Parse([]byte(raw), Limits{})
		if p.Root == nil || len(p.BodyStructure) == 0 || len(p.Envelope) == 0 {
			t.Errorf("Parse(%q): missing structure", raw)
		}
		if p.Root.MediaType() != "text/plain" {
			t.Errorf("Parse(%q): root %s", raw, p.Root.MediaType())
		}
	}
}

func TestParse_FallbackStructure(t *testing.T) {
	raw := []byte("Subject: x\r\n\r\nbody\r\n")
	p := fallback(raw)
	if !p.Truncated || p.Root.Size != int64(len(raw)) || p.Root.Lines != 3 {
		t.Errorf("fallback = %+v, root %+v", p, p.Root)
	}
	if _, err := DecodeStructure(p.BodyStructure); err != nil {
		t.Error(err)
	}
}

func TestParse_HasAttachments(t *testing.T) {
	tests := []struct {
		name, raw string
		want      bool
	}{
		{"inline image with cid only", "Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n" +
			"Content-Type: text/html\r\n\r\n<img src=cid:a>\r\n--r\r\nContent-Type: image/png\r\n" +
			"Content-ID: <a>\r\n\r\nx\r\n--r--\r\n", false},
		{"apple inline pdf", string(readTestMessage(t, "apple-inline")), true},
		{"text only", "Subject: x\r\n\r\nhi", false},
		{"calendar part", "Content-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nhi\r\n--c\r\n" +
			"Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n--c--\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse([]byte(tt.raw), Limits{}).HasAttachments; got != tt.want {
				t.Errorf("HasAttachments = %v, want %v", got, tt.want)
			}
		})
	}
}
