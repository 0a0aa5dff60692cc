package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestMessage(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".eml"))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func TestPart_FindSections(t *testing.T) {
	tests := []struct {
		msg, section string
		wantType     string // "" for nil
		wantBody     string // prefix of the body, when set
	}{
		{"plain", "", "text/plain", "Hi Bob"},
		{"plain", "1", "text/plain", "Hi Bob"},
		{"plain", "2", "", ""},
		{"plain", "1.1", "", ""},
		{"mixed-attachments", "1", "multipart/related", ""},
		{"mixed-attachments", "1.1.2", "text/html", "<html>"},
		{"mixed-attachments", "1.2", "image/png", "iVBORw0KGgo"},
		{"mixed-attachments", "3", "text/csv", "region,revenue"},
		{"mixed-attachments", "4", "", ""},
		{"nested-rfc822", "2", "message/rfc822", "From: Billing"},
		{"nested-rfc822", "2.1", "text/plain", "Please find"},
		{"nested-rfc822", "2.2", "application/octet-stream", "Invoice 42"},
		{"nested-rfc822", "2.3", "", ""},
		{"nested-rfc822", "3.1", "text/plain", "Just a note."},
		{"nested-rfc822", "3.2", "", ""},
		{"digest", "2.1", "text/plain", "Hi again."},
		{"nested-rfc822", "0", "", ""},
		{"nested-rfc822", "+1", "", ""},
		{"nested-rfc822", "1.", "", ""},
		{"nested-rfc822", "x", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.msg+"/"+tt.section, func(t *testing.T) {
			raw := readTestMessage(t, tt.msg)
			root, err := DecodeStructure(Parse(raw, Limits{}).BodyStructure)
			if err != nil {
				t.Fatal(err)
			}
			p := root.Find(tt.section)
			if tt.wantType == "" {
				if p != nil {
					t.Fatalf("Find(%q) = %s, want nil", tt.section, p.MediaType())
				}
				return
			}
			if p == nil || p.MediaType() != tt.wantType {
				t.Fatalf("Find(%q) = %v, want %s", tt.section, p, tt.wantType)
			}
			if body := string(p.Body(raw)); !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("Find(%q).Body = %.40q, want prefix %q", tt.section, body, tt.wantBody)
			}
		})
	}
}

// TestPart_SectionSlices checks the slices that FETCH BODY[2.HEADER],
// BODY[2.TEXT] and BODY[2.MIME] return for an attached message.
func TestPart_SectionSlices(t *testing.T) {
	raw := readTestMessage(t, "nested-rfc822")
	root := Parse(raw, Limits{}).Root
	p := root.Find("2")
	mime := string(p.Header(raw))
	wantMIME := "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n" +
		"Content-Description: Forwarded message\r\n\r\n"
	if mime != wantMIME {
		t.Errorf("2.MIME = %q, want %q", mime, wantMIME)
	}
	header := string(p.Message.Body.Header(raw))
	if len(header) < 6 || header[:6] != "From: " || header[len(header)-4:] != "\r\n\r\n" {
		t.Errorf("2.HEADER = %q", header)
	}
	text := string(p.Message.Body.Body(raw))
	if len(text) < 7 || text[:7] != "--inner" {
		t.Errorf("2.TEXT = %.40q", text)
	}
	if got := int64(len(header) + len(text)); got != p.Size {
		t.Errorf("HEADER+TEXT = %d bytes, part size %d", got, p.Size)
	}
	env := p.Message.Envelope
	if env.Subject != "Invoice 42" || env.MessageID != "invoice-42@vendor.example" {
		t.Errorf("envelope of 2 = %+v", env)
	}
}

func TestPart_BodyClampsOffsets(t *testing.T) {
	p := &Part{HeaderStart: -5, BodyStart: 3, BodyEnd: 99}
	if got := string(p.Body([]byte("hello"))); got != "lo" {
		t.Errorf("Body = %q", got)
	}
	if got := string(p.Header([]byte("hello"))); got != "hel" {
		t.Errorf("Header = %q", got)
	}
	p = &Part{HeaderStart: 4, BodyStart: 2, BodyEnd: 1}
	if got := p.Header([]byte("hello")); len(got) != 0 {
		t.Errorf("Header = %q", got)
	}
}

func TestPart_WalkSections(t *testing.T) {
	raw := readTestMessage(t, "nested-rfc822")
	var got []string
	Parse(raw, Limits{}).Root.Walk(func(section string, p *Part) bool {
		got = append(got, section+"="+p.MediaType())
		return true
	})
	want := []string{
		"=multipart/mixed", "1=text/plain", "2=message/rfc822", "2=multipart/mixed",
		"2.1=text/plain", "2.2=application/octet-stream", "3=message/rfc822", "3.1=text/plain",
	}
	if len(got) != len(want) {
		t.Fatalf("Walk = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Walk[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestDecodeStructure_Errors(t *testing.T) {
	if _, err := DecodeStructure([]byte("{")); err == nil {
		t.Error("DecodeStructure: no error for bad JSON")
	}
	if _, err := DecodeEnvelope([]byte("[]")); err == nil {
		t.Error("DecodeEnvelope: no error for an array")
	}
	if l, err := DecodeAttachments(nil); err != nil || l != nil {
		t.Errorf("DecodeAttachments(nil) = %v, %v", l, err)
	}
	b, err := EncodeAttachments(nil)
	if err != nil || string(b) != "[]" {
		t.Errorf("EncodeAttachments(nil) = %s, %v", b, err)
	}
}
