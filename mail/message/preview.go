package message

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of Parsed.Preview. The byte bound matches the preview column
// (ent/schema/message.go, MaxLen 512 counts bytes).
const (
	PreviewMaxRunes = 200
	PreviewMaxBytes = 512
)

// How much of a body the preview decodes: enough for PreviewMaxRunes of
// text, and for HTML enough to get past a head full of style sheets,
// without decoding a large body in full at delivery.
const (
	previewTextScan = 8 << 10
	previewHTMLScan = 64 << 10
)

// preview makes Parsed.Preview from the main text body, or the HTML body
// when there is no text.
func preview(raw []byte, text, htmlPart *Part) string {
	if text != nil {
		if s := previewOf(raw, text, previewTextScan, false); s != "" {
			return s
		}
	}
	if htmlPart != nil {
		return previewOf(raw, htmlPart, previewHTMLScan, true)
	}
	return ""
}

func previewOf(raw []byte, p *Part, scan int, isHTML bool) string {
	body := p.Body(raw)
	if len(body) > scan {
		body = body[:scan]
	}
	s := toUTF8(p.Params["charset"], decodeTransfer(p.Encoding, body))
	if isHTML {
		s = html.UnescapeString(htmlToText(s))
	}
	return collapse(s, PreviewMaxRunes, PreviewMaxBytes)
}

// collapse replaces each run of white space with one space, drops other
// control characters and U+FFFD, trims both ends, and stops at maxRunes
// runes or maxBytes bytes, whichever comes first.
func collapse(s string, maxRunes, maxBytes int) string {
	var b strings.Builder
	b.Grow(min(len(s), maxBytes))
	runes, space := 0, false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if r <= ' ' || r == 0x7F {
				space = space || (r == ' ' || '\t' <= r && r <= '\r') && b.Len() > 0
				continue
			}
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r):
			continue
		}
		n := utf8.RuneLen(r)
		if space {
			n++
		}
		if runes+1+boolInt(space) > maxRunes || b.Len()+n > maxBytes {
			break
		}
		if space {
			b.WriteByte(' ')
			runes++
			space = false
		}
		b.WriteRune(r)
		runes++
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// htmlToText drops the markup of an HTML document: tags, comments, and
// the content of style, script and title elements. Block-level tags
// become spaces so that words of adjacent blocks stay apart. Entities are
// left for html.UnescapeString.
func htmlToText(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		if strings.HasPrefix(s[i:], "<!--") {
			k := strings.Index(s[i+4:], "-->")
			if k < 0 {
				break
			}
			i += 4 + k + 3
			continue
		}
		k := strings.IndexByte(s[i:], '>')
		if k < 0 {
			break
		}
		tag := s[i+1 : i+k]
		i += k + 1
		closing := strings.HasPrefix(tag, "/")
		name := tagName(strings.TrimPrefix(tag, "/"))
		switch {
		case !closing && (name == "style" || name == "script" || name == "title"):
			i = skipElement(s, i, name)
		case blockTags[name]:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

var blockTags = map[string]bool{
	"br": true, "p": true, "div": true, "tr": true, "td": true, "th": true,
	"li": true, "ul": true, "ol": true, "table": true, "blockquote": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"hr": true, "section": true, "article": true, "header": true, "footer": true,
}

// tagName returns the lower-case element name at the start of a tag.
func tagName(tag string) string {
	n := 0
	for n < len(tag) && n < 12 && (isASCIILetter(tag[n]) || ('0' <= tag[n] && tag[n] <= '9')) {
		n++
	}
	return strings.ToLower(tag[:n])
}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// skipElement returns the offset after the end tag of element name that
// follows i, or len(s).
func skipElement(s string, i int, name string) int {
	for {
		k := strings.Index(s[i:], "</")
		if k < 0 {
			return len(s)
		}
		i += k + 2
		if len(s)-i >= len(name) && strings.EqualFold(s[i:i+len(name)], name) {
			if e := strings.IndexByte(s[i:], '>'); e >= 0 {
				return i + e + 1
			}
			return len(s)
		}
	}
}
