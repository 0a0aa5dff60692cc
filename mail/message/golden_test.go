package message

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// testMessage is one message of testdata.
type testMessage struct {
	name string
	raw  []byte
}

// loadMessages reads testdata/*.eml.
func loadMessages(tb testing.TB) []testMessage {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatal("no testdata/*.eml")
	}
	var msgs []testMessage
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, testMessage{name: strings.TrimSuffix(filepath.Base(p), ".eml"), raw: raw})
	}
	return msgs
}

// goldenParsed is Parsed as the golden files show it: the JSON columns
// inline rather than base64, and what Bodies returns.
type goldenParsed struct {
	Subject        string          `json:"subject"`
	From           Address         `json:"from"`
	To             []Address       `json:"to"`
	Cc             []Address       `json:"cc"`
	Date           *time.Time      `json:"date"`
	MessageID      string          `json:"message_id"`
	Preview        string          `json:"preview"`
	HasAttachments bool            `json:"has_attachments"`
	Attachments    []Attachment    `json:"attachments"`
	HeaderSize     int64           `json:"header_size"`
	Truncated      bool            `json:"truncated"`
	Envelope       json.RawMessage `json:"envelope"`
	BodyStructure  json.RawMessage `json:"body_structure"`
	Text           string          `json:"text"`
	HTML           string          `json:"html"`
}

func goldenOf(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	p := Parse(raw, Limits{})
	text, html, err := Bodies(raw)
	if err != nil {
		tb.Fatalf("Bodies: %v", err)
	}
	g := goldenParsed{
		Subject: p.Subject, From: p.From, To: p.To, Cc: p.Cc, Date: p.Date,
		MessageID: p.MessageID, Preview: p.Preview, HasAttachments: p.HasAttachments,
		Attachments: p.Attachments, HeaderSize: p.HeaderSize, Truncated: p.Truncated,
		Envelope: p.Envelope, BodyStructure: p.BodyStructure, Text: text, HTML: html,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestParse_Golden(t *testing.T) {
	for _, m := range loadMessages(t) {
		t.Run(m.name, func(t *testing.T) {
			got := goldenOf(t, m.raw)
			path := filepath.Join("testdata", m.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Parse(%s) differs from %s (-want +got):\n%s", m.name, path, diff)
			}
		})
	}
}
