package message

import (
	"bytes"
	"fmt"
	"strings"
)

// Parse parses a raw RFC 5322 message for the cache. It never fails and
// never panics: broken MIME gives best-effort fields, and Limits bound the
// time and memory it takes (linear in len(raw), times at most MaxDepth).
func Parse(raw []byte, lim Limits) (p *Parsed) {
	defer func() {
		// A bug here must not cost a delivery: the message is stored as
		// received either way, and a minimal structure keeps IMAP working.
		// The fuzz targets call parse without this net.
		if r := recover(); r != nil {
			p = fallback(raw)
		}
	}()
	return parse(raw, lim.withDefaults())
}

func parse(raw []byte, lim Limits) *Parsed {
	root, hb, truncated := parseTree(raw, lim)
	mh := readMessageHeader(hb)
	env := mh.envelope()
	p := &Parsed{
		Subject:    mh.subject,
		To:         mailboxes(mh.to),
		Cc:         mailboxes(mh.cc),
		Date:       mh.date,
		MessageID:  mh.messageID,
		HeaderSize: int64(hb.bodyStart),
		Truncated:  truncated,
		Env:        env,
		Root:       root,
	}
	if from := mailboxes(mh.from); len(from) > 0 {
		p.From = from[0]
	}
	atts, _ := collectAttachments(raw, root)
	p.Attachments = atts
	for _, a := range atts {
		if !a.Inline || a.ContentID == "" {
			p.HasAttachments = true
			break
		}
	}
	text, html := pickBodies(root)
	p.Preview = preview(raw, text, html)
	p.Envelope = encodeJSON(env)
	p.BodyStructure = encodeJSON(root)
	return p
}

// fallback is the result of a parse that failed: one text/plain part
// that covers the whole message.
func fallback(raw []byte) *Parsed {
	root := &Part{
		Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
		Encoding: "7bit", Size: int64(len(raw)), Lines: countLines(raw),
		BodyEnd: int64(len(raw)),
	}
	env := &Envelope{}
	return &Parsed{
		Truncated:     true,
		Env:           env,
		Root:          root,
		Envelope:      encodeJSON(env),
		BodyStructure: encodeJSON(root),
	}
}

// Bodies returns the main text and HTML bodies of a message, transfer
// encoding undone and converted to UTF-8; either is "" when the message
// has none. The main bodies are the first text/plain and the first
// text/html part that are not attachments, outside attached messages.
// Line breaks are returned as LF, the convention of JSON and of the
// programs that consume the API, rather than the CRLF of the wire.
// Broken encodings give best-effort text, so err is nil today; it is
// there for a caller that reads raw from storage through this package.
func Bodies(raw []byte) (text, html string, err error) {
	root, _, _ := parseTree(raw, Limits{}.withDefaults())
	tp, hp := pickBodies(root)
	if tp != nil {
		text = decodeBody(raw, tp)
	}
	if hp != nil {
		html = decodeBody(raw, hp)
	}
	return text, html, nil
}

// decodeBody decodes a text part's body to UTF-8 with LF line breaks.
func decodeBody(raw []byte, p *Part) string {
	s := toUTF8(p.Params["charset"], decodeTransfer(p.Encoding, p.Body(raw)))
	if strings.Contains(s, "\r\n") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return s
}

// OpenAttachment returns the attachment at index, as Parse with default
// Limits lists it, and its content with the transfer encoding undone (no
// charset conversion: the bytes are the file). Size is the exact size.
func OpenAttachment(raw []byte, index int) (Attachment, []byte, error) {
	root, _, _ := parseTree(raw, Limits{}.withDefaults())
	atts, parts := collectAttachments(raw, root)
	if index < 0 || index >= len(atts) {
		err := fmt.Errorf("attachment %d of %d: %w", index, len(atts), ErrNoAttachment)
		return Attachment{}, nil, err
	}
	a, p := atts[index], parts[index]
	data := decodeTransfer(p.Encoding, p.Body(raw))
	if !transforms(p.Encoding) {
		// data is a slice of raw: copy, so that the caller cannot modify raw.
		data = bytes.Clone(data)
	}
	a.Size = int64(len(data))
	return a, data, nil
}

// Headers returns the top-level header fields in order. Past the default
// Limits.MaxHeaderBytes it returns the fields read so far and
// ErrHeaderTooLarge.
func Headers(raw []byte) ([]Header, error) {
	hb := scanHeader(raw, 0, len(raw), DefaultMaxHeaderBytes, nil)
	out := make([]Header, 0, len(hb.fields))
	for _, f := range hb.fields {
		out = append(out, Header{
			Name:  headerUTF8(string(f.name)),
			Value: decodeText(unfold(f.value)),
		})
	}
	if hb.truncated {
		return out, ErrHeaderTooLarge
	}
	return out, nil
}

// filename returns a part's file name: the Content-Disposition filename
// (RFC 2183 §2.3), else the Content-Type name that older mailers set.
func filename(p *Part) string {
	if f := strings.TrimSpace(p.DispositionParams["filename"]); f != "" {
		return f
	}
	return strings.TrimSpace(p.Params["name"])
}

// isBody reports whether a leaf part can be a main body: plain text or
// HTML that is neither marked as an attachment nor named as a file.
func isBody(p *Part) bool {
	return p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html") &&
		p.Disposition != "attachment" && filename(p) == ""
}

// collectAttachments lists the leaf parts that are not bodies, outside
// attached messages, in depth-first order, with their Parts.
func collectAttachments(raw []byte, root *Part) ([]Attachment, []*Part) {
	var atts []Attachment
	var parts []*Part
	walkMessage(root, "", false, func(section string, p *Part) bool {
		if p.IsMultipart() || isBody(p) {
			return true
		}
		typ := p.Declared
		if typ == "" {
			typ = p.MediaType()
		}
		cid := strings.TrimSpace(p.ID)
		if strings.HasPrefix(cid, "<") && strings.HasSuffix(cid, ">") {
			cid = cid[1 : len(cid)-1]
		}
		atts = append(atts, Attachment{
			Index:       len(atts),
			Part:        section,
			Filename:    filename(p),
			ContentType: typ,
			Size:        decodedSize(p.Encoding, p.Body(raw)),
			Inline:      p.Disposition == "inline" || (p.Disposition == "" && cid != ""),
			ContentID:   cid,
		})
		parts = append(parts, p)
		return true
	})
	return atts, parts
}

// pickBodies returns the first text/plain and text/html body parts.
func pickBodies(root *Part) (text, html *Part) {
	walkMessage(root, "", false, func(_ string, p *Part) bool {
		if p.IsMultipart() || !isBody(p) {
			return true
		}
		if p.Subtype == "plain" && text == nil {
			text = p
		}
		if p.Subtype == "html" && html == nil {
			html = p
		}
		return text == nil || html == nil
	})
	return text, html
}
