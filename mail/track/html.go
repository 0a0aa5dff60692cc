package track

import (
	"bytes"
	"html"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxLinks bounds the links rewritten in one HTML part; the links after
// it are left as they are.
const MaxLinks = 1000

// pixelStyle keeps the open pixel from taking room or showing a border
// in clients that ignore width and height.
const pixelStyle = "display:block;width:1px;height:1px;border:0;margin:0;padding:0"

// rewriteHTML returns doc with its links and pixel rewritten by l, and
// how many links it rewrote. Tokens are copied byte for byte from doc,
// except the start tags of rewritten <a> elements, which are written
// anew with the tracking URL as their href.
func rewriteHTML(doc []byte, l *Links) ([]byte, int, error) {
	var out bytes.Buffer
	out.Grow(len(doc) + 4096)
	z := xhtml.NewTokenizer(bytes.NewReader(doc))
	links := 0
	var raw []byte
	// The pixel goes before the last </body>, else the last </html>,
	// else at the end: offsets in out.
	body, htmlEnd := -1, -1
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		// A copy: TagName and Token lower-case the tokenizer's buffer in
		// place, and only rewritten tags may change.
		raw = append(raw[:0], z.Raw()...)
		switch tt {
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			if !l.Clicks || links >= MaxLinks {
				break
			}
			tok := z.Token()
			if tok.DataAtom != atom.A {
				break
			}
			if tag, ok, err := l.trackedTag(tok); err != nil {
				return nil, 0, err
			} else if ok {
				out.WriteString(tag)
				links++
				continue
			}
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				body = out.Len()
			case atom.Html:
				htmlEnd = out.Len()
			}
		}
		out.Write(raw)
	}
	res := out.Bytes()
	if !l.Opens {
		return res, links, nil
	}
	pixel, err := l.pixel()
	if err != nil {
		return nil, 0, err
	}
	at := len(res)
	switch {
	case body >= 0:
		at = body
	case htmlEnd >= 0:
		at = htmlEnd
	}
	final := make([]byte, 0, len(res)+len(pixel))
	final = append(append(append(final, res[:at]...), pixel...), res[at:]...)
	return final, links, nil
}

// trackedTag returns the start tag tok with its href pointing at the
// click endpoint, if its link is one to track.
func (l *Links) trackedTag(tok xhtml.Token) (string, bool, error) {
	for i, a := range tok.Attr {
		if a.Namespace != "" || a.Key != "href" {
			continue
		}
		// Browsers strip the whitespace around a URL.
		u := strings.TrimSpace(a.Val)
		if !Trackable(u) || strings.HasPrefix(u, l.Base+"/t/") {
			return "", false, nil
		}
		tu, err := l.url(Token{Kind: KindClick, Message: l.Message, Recipient: l.Recipient, URL: u})
		if err != nil {
			return "", false, err
		}
		tok.Attr[i].Val = tu
		return tok.String(), true, nil
	}
	return "", false, nil
}

// pixel returns the open pixel's element.
func (l *Links) pixel() (string, error) {
	u, err := l.url(Token{Kind: KindOpen, Message: l.Message, Recipient: l.Recipient})
	if err != nil {
		return "", err
	}
	return `<img src="` + html.EscapeString(u) + `" width="1" height="1" alt="" style="` +
		pixelStyle + `">`, nil
}

// url returns the endpoint URL of t.
func (l *Links) url(t Token) (string, error) {
	tok, err := l.Signer.Encode(t)
	if err != nil {
		return "", err
	}
	return l.Base + "/t/" + string(t.Kind) + "/" + tok, nil
}
