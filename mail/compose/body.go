package compose

import (
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	"github.com/emersion/go-message"
)

// partCreator starts an entity: the message itself at the top level, or
// a part of the multipart entity being written.
type partCreator interface {
	create(fs []Field) (*message.Writer, error)
}

// rootCreator starts the message: its top-level fields with the entity's
// Content-* fields added.
type rootCreator struct {
	w      io.Writer
	fields []Field
}

func (r rootCreator) create(part []Field) (*message.Writer, error) {
	return message.CreateWriter(r.w, toHeader(append(slices.Clip(r.fields), part...)))
}

// partOf starts parts of a multipart entity.
type partOf struct{ w *message.Writer }

func (p partOf) create(fs []Field) (*message.Writer, error) { return p.w.CreatePart(toHeader(fs)) }

// multipart writes a multipart entity of type typ with params (the
// boundary is added), whose parts fn writes.
func multipart(pc partCreator, typ string, params map[string]string, fn func(partCreator) error) error {
	mw, err := pc.create([]Field{{"Content-Type", mime.FormatMediaType(typ, params)}})
	if err != nil {
		return fmt.Errorf("compose: %s: %w", typ, err)
	}
	if err := fn(partOf{mw}); err != nil {
		return err
	}
	return mw.Close()
}

// writeBody writes the text and HTML bodies, in a multipart/related with
// the inline parts when there are any (RFC 2387).
func writeBody(pc partCreator, m *Message, inline []Attachment) error {
	if len(inline) == 0 {
		return writeText(pc, m)
	}
	inner := "text/html"
	if m.Text != "" {
		inner = "multipart/alternative"
	}
	return multipart(pc, "multipart/related", map[string]string{"type": inner}, func(pc partCreator) error {
		if err := writeText(pc, m); err != nil {
			return err
		}
		for _, a := range inline {
			if err := writeAttachment(pc, a, "inline"); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeText writes the text body, the HTML body, or both as alternatives
// with the plain text first (RFC 2046 §5.1.4: the preferred one last).
func writeText(pc partCreator, m *Message) error {
	switch {
	case m.HTML == "":
		return writeTextPart(pc, "plain", m.Text)
	case m.Text == "":
		return writeTextPart(pc, "html", m.HTML)
	}
	return multipart(pc, "multipart/alternative", nil, func(pc partCreator) error {
		if err := writeTextPart(pc, "plain", m.Text); err != nil {
			return err
		}
		return writeTextPart(pc, "html", m.HTML)
	})
}

// writeTextPart writes one text part, quoted-printable: it keeps lines
// within 76 characters whatever the body, and line breaks become CRLF.
func writeTextPart(pc partCreator, subtype, body string) error {
	w, err := pc.create([]Field{
		{"Content-Type", "text/" + subtype + "; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	})
	if err != nil {
		return fmt.Errorf("compose: text/%s part: %w", subtype, err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		return fmt.Errorf("compose: text/%s part: %w", subtype, err)
	}
	return w.Close()
}

// writeAttachment writes a as a base64 part with the given disposition.
func writeAttachment(pc partCreator, a Attachment, disposition string) error {
	typ := a.ContentType
	if typ == "" {
		typ = "application/octet-stream"
	}
	t, params, _ := mime.ParseMediaType(typ) // checkAttachment parsed it
	var dparams map[string]string
	if a.Filename != "" {
		params["name"] = a.Filename
		dparams = map[string]string{"filename": a.Filename}
	}
	fs := []Field{
		{"Content-Type", mime.FormatMediaType(t, params)},
		{"Content-Disposition", mime.FormatMediaType(disposition, dparams)},
		{"Content-Transfer-Encoding", "base64"},
	}
	if a.ContentID != "" {
		fs = append(fs, Field{"Content-ID", "<" + a.ContentID + ">"})
	}
	w, err := pc.create(fs)
	if err != nil {
		return fmt.Errorf("compose: attachment %q: %w", a.Filename, err)
	}
	if _, err := w.Write(a.Content); err != nil {
		return fmt.Errorf("compose: attachment %q: %w", a.Filename, err)
	}
	return w.Close()
}

// checkAttachment refuses a content type that does not parse, or a file
// name or Content-ID that could break out of its header field.
func checkAttachment(a Attachment) error {
	if a.ContentType != "" {
		t, _, err := mime.ParseMediaType(a.ContentType)
		if err != nil || strings.HasPrefix(t, "multipart/") || strings.ContainsAny(a.ContentType, "\r\n") {
			return fmt.Errorf("%w: attachment %q: content type %q", ErrInvalid, a.Filename, a.ContentType)
		}
	}
	if strings.ContainsFunc(a.Filename, isControl) || len(a.Filename) > 255 {
		return fmt.Errorf("%w: attachment file name %q", ErrInvalid, a.Filename)
	}
	if a.ContentID != "" && (len(a.ContentID) > 250 ||
		strings.ContainsFunc(a.ContentID, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune("<>()[]\\\",;:", r)
		})) {
		return fmt.Errorf("%w: attachment %q: content id %q", ErrInvalid, a.Filename, a.ContentID)
	}
	return nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }
