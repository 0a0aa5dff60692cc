package compose_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gomail "github.com/emersion/go-message/mail"

	"github.com/lightr-mail/lightr/mail/compose"
)

// full uses every feature of Build.
func full() *compose.Message {
	return &compose.Message{
		From:    compose.Address{Name: "Jürgen Groß", Email: "jg@acme.test"},
		To:      []compose.Address{{Name: "Carol", Email: "carol@remote.test"}, {Email: "dave@remote.test"}},
		Cc:      []compose.Address{{Name: "Zoë", Email: "zoe@remote.test"}},
		ReplyTo: []compose.Address{{Email: "replies@acme.test"}},
		Subject: "Grüße aus Köln – 你好, a subject long enough to need more than one encoded word",
		Text:    "Hello =\nsecond line\n",
		HTML:    `<p>Hello <img src="cid:logo@acme"></p>`,
		Attachments: []compose.Attachment{
			{Filename: "Bericht für März.pdf", ContentType: "application/pdf", Content: []byte("%PDF fake")},
			{Filename: "logo.png", ContentType: "image/png", Content: []byte{0x89, 'P', 'N', 'G'},
				ContentID: "logo@acme"},
		},
		Fields:    []compose.Field{{Name: "X-Campaign", Value: "spring"}, {Name: "In-Reply-To", Value: "<a@b>"}},
		Date:      time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		MessageID: "01abc@acme.test",
	}
}

func TestBuild_ParsesBackWithGoMessage(t *testing.T) {
	raw, err := compose.Build(full())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the message")
	}
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := r.Header.Subject()
	from, _ := r.Header.AddressList("From")
	id, _ := r.Header.MessageID()
	date, _ := r.Header.Date()
	if subject != full().Subject || len(from) != 1 || from[0].Name != "Jürgen Groß" ||
		id != "01abc@acme.test" || !date.Equal(full().Date) || r.Header.Get("X-Campaign") != "spring" {
		t.Errorf("header: subject %q from %v id %q date %v", subject, from, id, date)
	}
	var got []string
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *gomail.InlineHeader:
			typ, _, _ := h.ContentType()
			got = append(got, "inline "+typ+" "+string(body))
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			got = append(got, "attachment "+name+" "+string(body))
		}
	}
	want := []string{
		"inline text/plain Hello =\r\nsecond line\r\n",
		`inline text/html <p>Hello <img src="cid:logo@acme"></p>`,
		"inline image/png \x89PNG", // Content-Disposition: inline

		"attachment Bericht für März.pdf %PDF fake",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

// pythonCheck is read by Python's email package (the modern parser with
// the default policy), which prints what it found as JSON.
const pythonCheck = `
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
def walk(p, d):
    out = ["  " * d + p.get_content_type() + (" " + p.get_filename() if p.get_filename() else "")]
    for c in (p.iter_parts() if p.is_multipart() else []):
        out += walk(c, d + 1)
    return out
print(json.dumps({
    "subject": str(m["subject"]), "from": str(m["from"]), "cc": str(m["cc"]),
    "to": [a.addr_spec for a in m["to"].addresses], "defects": len(m.defects),
    "text": m.get_body(("plain",)).get_content(), "tree": walk(m, 0),
    "cid": m.get_body(("related",)).get_param("type"),
}))
`

func TestBuild_ParsesBackWithPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	raw, err := compose.Build(full())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonCheck)
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct {
		Subject, From, Cc, Text, CID string
		To                           []string
		Defects                      int
		Tree                         []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := got
	want.Subject = full().Subject
	want.From = "Jürgen Groß <jg@acme.test>"
	want.Cc = "Zoë <zoe@remote.test>"
	want.To = []string{"carol@remote.test", "dave@remote.test"}
	want.Text = "Hello =\r\nsecond line\r\n" // line breaks are CRLF on the wire
	want.CID = "multipart/alternative"
	want.Defects = 0
	want.Tree = []string{
		"multipart/mixed",
		"  multipart/related",
		"    multipart/alternative",
		"      text/plain",
		"      text/html",
		"    image/png logo.png",
		"  application/pdf Bericht für März.pdf",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Python's view (-want +got):\n%s", diff)
	}
}

func TestBuild_Structure(t *testing.T) {
	tests := []struct {
		name string
		edit func(*compose.Message)
		want string // the top-level Content-Type's media type
	}{
		{"text only", func(m *compose.Message) { m.HTML, m.Attachments = "", nil }, "text/plain"},
		{"html only", func(m *compose.Message) { m.Text, m.Attachments = "", nil }, "text/html"},
		{"both", func(m *compose.Message) { m.Attachments = nil }, "multipart/alternative"},
		{"inline only", func(m *compose.Message) { m.Attachments = m.Attachments[1:] }, "multipart/related"},
		{"cid without html is attached", func(m *compose.Message) {
			m.HTML, m.Attachments = "", m.Attachments[1:]
		}, "multipart/mixed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := full()
			tc.edit(m)
			raw, err := compose.Build(m)
			if err != nil {
				t.Fatal(err)
			}
			r, err := gomail.CreateReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if typ, _, _ := r.Header.ContentType(); typ != tc.want {
				t.Errorf("Content-Type %s, want %s", typ, tc.want)
			}
		})
	}
}

func TestBuild_Refuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*compose.Message)
	}{
		{"no body", func(m *compose.Message) { m.Text, m.HTML = "", "" }},
		{"CRLF in a field", func(m *compose.Message) {
			m.Fields = []compose.Field{{Name: "X-A", Value: "a\r\nBcc: x@y.test"}}
		}},
		{"LF in a field", func(m *compose.Message) { m.Fields = []compose.Field{{Name: "X-A", Value: "a\nb"}} }},
		{"NUL in a field", func(m *compose.Message) { m.Fields = []compose.Field{{Name: "X-A", Value: "a\x00"}} }},
		{"reserved field", func(m *compose.Message) { m.Fields = []compose.Field{{Name: "bcc", Value: "x@y.test"}} }},
		{"Content-* field", func(m *compose.Message) {
			m.Fields = []compose.Field{{Name: "Content-Transfer-Encoding", Value: "8bit"}}
		}},
		{"DKIM-Signature", func(m *compose.Message) {
			m.Fields = []compose.Field{{Name: "DKIM-Signature", Value: "v=1"}}
		}},
		{"field name with a space", func(m *compose.Message) { m.Fields = []compose.Field{{Name: "X A", Value: "b"}} }},
		{"long field", func(m *compose.Message) {
			m.Fields = []compose.Field{{Name: "X-A", Value: strings.Repeat("a", 999)}}
		}},
		{"CRLF in the subject", func(m *compose.Message) { m.Subject = "a\r\nBcc: x@y.test" }},
		{"CRLF in a name", func(m *compose.Message) { m.To[0].Name = "a\r\nBcc: x@y.test" }},
		{"bad address", func(m *compose.Message) { m.To[0].Email = "not an address" }},
		{"multipart attachment", func(m *compose.Message) { m.Attachments[0].ContentType = "multipart/mixed" }},
		{"bad content id", func(m *compose.Message) { m.Attachments[1].ContentID = "a>b" }},
		{"control in a file name", func(m *compose.Message) { m.Attachments[0].Filename = "a\r\nb" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := full()
			tc.edit(m)
			if _, err := compose.Build(m); !errors.Is(err, compose.ErrInvalid) {
				t.Errorf("Build: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	a, err := compose.ParseAddress("=?utf-8?q?J=C3=BCrgen?= <jg@acme.test>")
	if err != nil || a.Name != "Jürgen" || a.Email != "jg@acme.test" {
		t.Errorf("ParseAddress = %+v, %v", a, err)
	}
	if _, err := compose.ParseAddress("a@b.test\r\nBcc: c@d.test"); !errors.Is(err, compose.ErrInvalid) {
		t.Errorf("an address with CRLF: %v, want ErrInvalid", err)
	}
}
