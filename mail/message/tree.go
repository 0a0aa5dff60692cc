package message

import (
	"bytes"
	"strings"
)

// parser builds the Part tree of one raw message within Limits.
type parser struct {
	raw       []byte
	lim       Limits
	parts     int
	truncated bool
}

// parseTree scans the whole message: its top-level header and its tree.
func parseTree(raw []byte, lim Limits) (*Part, *headerBlock, bool) {
	ps := &parser{raw: raw, lim: lim}
	hb := scanHeader(raw, 0, len(raw), lim.MaxHeaderBytes, nil)
	root := ps.newPart(0, &hb, len(raw), 0, false)
	return root, &hb, ps.truncated
}

// newPart builds the Part of the entity whose header hb starts at hs and
// whose body ends at end, and parses what the body contains. depth is the
// nesting level of the entity; digest reports a multipart/digest parent.
func (ps *parser) newPart(hs int, hb *headerBlock, end, depth int, digest bool) *Part {
	ps.parts++
	if hb.truncated {
		ps.truncated = true
	}
	p := &Part{
		HeaderStart: int64(hs),
		BodyStart:   int64(hb.bodyStart),
		BodyEnd:     int64(end),
		Size:        int64(end - hb.bodyStart),
	}
	setMIME(p, hb, digest)
	switch {
	case p.Type == "multipart":
		ps.parseMultipart(p, depth)
	case isMessageType(p.Type, p.Subtype):
		ps.parseEmbedded(p, depth)
	}
	if p.Type == "text" || p.Message != nil {
		p.Lines = countLines(ps.raw[hb.bodyStart:end])
	}
	return p
}

func isMessageType(typ, sub string) bool {
	return typ == "message" && (sub == "rfc822" || sub == "global")
}

// countLines counts the lines of a body for BODYSTRUCTURE: its line
// breaks, plus a last line that has none (the line break before a
// boundary belongs to the boundary, RFC 2046 §5.1.1).
func countLines(body []byte) int64 {
	n := int64(bytes.Count(body, []byte{'\n'}))
	if len(body) > 0 && body[len(body)-1] != '\n' {
		n++
	}
	return n
}

// setMIME fills p's MIME fields from its header (RFC 2045, RFC 2183).
func setMIME(p *Part, hb *headerBlock, digest bool) {
	var mt string
	var params map[string]string
	if ct, ok := hb.value(fContentType); ok {
		mt, params = parseParamField(ct)
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" || strings.Contains(sub, "/") {
		// RFC 2045 §5.2 (and for an invalid field too), RFC 2046 §5.1.5.
		if digest {
			typ, sub, params = "message", "rfc822", nil
		} else {
			typ, sub, params = "text", "plain", map[string]string{"charset": "us-ascii"}
		}
	}
	p.Type, p.Subtype, p.Params = typ, sub, params

	p.Encoding = "7bit"
	if cte, ok := hb.value(fContentTransferEncoding); ok {
		if f := strings.Fields(strings.ToLower(cte)); len(f) > 0 {
			p.Encoding = headerUTF8(strings.TrimSuffix(f[0], ";"))
		}
	}
	if v, ok := hb.value(fContentID); ok {
		p.ID = headerUTF8(v)
	}
	if v, ok := hb.value(fContentDescription); ok {
		p.Description = headerUTF8(v)
	}
	if v, ok := hb.value(fContentDisposition); ok {
		p.Disposition, p.DispositionParams = parseParamField(v)
		if p.Disposition == "" {
			p.DispositionParams = nil
		}
	}
	if v, ok := hb.value(fContentLanguage); ok {
		p.Language = splitLanguage(v)
	}
	if v, ok := hb.value(fContentLocation); ok {
		p.Location = headerUTF8(v)
	}
}

// splitLanguage splits a Content-Language list (RFC 3282), keeping at most
// 16 tags.
func splitLanguage(v string) []string {
	var tags []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" && len(tags) < 16 {
			tags = append(tags, headerUTF8(t))
		}
	}
	return tags
}

// parseMultipart finds the parts of a multipart body (RFC 2046 §5.1.1).
// Without a boundary or a first delimiter the body is shown as text; past
// the limits it is an opaque leaf.
func (ps *parser) parseMultipart(p *Part, depth int) {
	if depth+1 > ps.lim.MaxDepth || ps.parts >= ps.lim.MaxParts {
		ps.truncated = true
		reportAs(p, "application", "octet-stream")
		return
	}
	boundary := p.Params["boundary"]
	if boundary == "" {
		reportAs(p, "text", "plain")
		return
	}
	raw, end := ps.raw, int(p.BodyEnd)
	delim := []byte("--" + boundary)
	d, ok := findDelimiter(raw, int(p.BodyStart), end, delim)
	if !ok || d.close {
		reportAs(p, "text", "plain")
		return
	}
	digest := p.Subtype == "digest"
	for pos := d.after; ; pos = d.after {
		if ps.parts >= ps.lim.MaxParts {
			ps.truncated = true
			return
		}
		hb := scanHeader(raw, pos, end, ps.lim.MaxHeaderBytes, delim)
		bodyEnd := end
		d, ok = findDelimiter(raw, hb.bodyStart, end, delim)
		if ok {
			bodyEnd = trimBreak(raw, hb.bodyStart, d.start)
		}
		p.Children = append(p.Children, ps.newPart(pos, &hb, bodyEnd, depth+1, digest))
		if !ok || d.close {
			return
		}
	}
}

// trimBreak drops the line break before a delimiter line at end, which
// belongs to the delimiter (RFC 2046 §5.1.1), without going below start.
func trimBreak(raw []byte, start, end int) int {
	if end > start && raw[end-1] == '\n' {
		end--
		if end > start && raw[end-1] == '\r' {
			end--
		}
	}
	return end
}

// parseEmbedded parses the message that a message/rfc822 part carries.
// RFC 2046 §5.2.1 allows only 7bit, 8bit and binary for it; an encoded
// one cannot be sliced from the raw bytes and is shown as opaque.
func (ps *parser) parseEmbedded(p *Part, depth int) {
	switch p.Encoding {
	case "7bit", "8bit", "binary":
	default:
		reportAs(p, "application", "octet-stream")
		return
	}
	if depth+1 > ps.lim.MaxDepth || ps.parts >= ps.lim.MaxParts {
		ps.truncated = true
		reportAs(p, "application", "octet-stream")
		return
	}
	start, end := int(p.BodyStart), int(p.BodyEnd)
	hb := scanHeader(ps.raw, start, end, ps.lim.MaxHeaderBytes, nil)
	body := ps.newPart(start, &hb, end, depth+1, false)
	p.Message = &EmbeddedMessage{Envelope: buildEnvelope(&hb), Body: body}
}

// reportAs makes p a leaf of another type, keeping the declared one.
func reportAs(p *Part, typ, sub string) {
	if p.Declared == "" {
		p.Declared = p.MediaType()
	}
	p.Type, p.Subtype = typ, sub
	p.Children, p.Message = nil, nil
	delete(p.Params, "boundary")
	if len(p.Params) == 0 {
		p.Params = nil
	}
}

// delimiter is one boundary delimiter line found in a multipart body.
type delimiter struct {
	start int  // offset of the line
	after int  // offset after its line break
	close bool // the close delimiter "--boundary--"
}

// findDelimiter returns the first delimiter line for delim ("--boundary")
// that starts a line in raw[from:end]. As in go-message, a delimiter line
// is delim, optional spaces and tabs, and a line break or the end; the
// close delimiter has "--" after delim. Unlike go-message, line endings
// may be mixed, and a line that merely starts with delim is body text.
func findDelimiter(raw []byte, from, end int, delim []byte) (delimiter, bool) {
	for from < end {
		i := bytes.Index(raw[from:end], delim)
		if i < 0 {
			break
		}
		at := from + i
		if at == 0 || raw[at-1] == '\n' {
			if after, closing, ok := classifyDelimiter(raw, at+len(delim), end); ok {
				return delimiter{start: at, after: after, close: closing}, true
			}
		}
		from = at + 1
	}
	return delimiter{}, false
}

// classifyDelimiter looks at what follows a "--boundary" at j.
func classifyDelimiter(raw []byte, j, end int) (after int, closing, ok bool) {
	if j+1 < end && raw[j] == '-' && raw[j+1] == '-' {
		closing = true
		j += 2
	}
	for j < end && (raw[j] == ' ' || raw[j] == '\t') {
		j++
	}
	switch {
	case j == end:
		return end, closing, true
	case raw[j] == '\n':
		return j + 1, closing, true
	case raw[j] == '\r' && (j+1 == end || raw[j+1] == '\n'):
		return min(j+2, end), closing, true
	}
	return 0, false, false
}

// isDelimiterLine reports whether line (with its line break) is a
// delimiter line for delim.
func isDelimiterLine(line, delim []byte) bool {
	if !bytes.HasPrefix(line, delim) {
		return false
	}
	_, _, ok := classifyDelimiter(line, len(delim), len(line))
	return ok
}
