package track

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Bounds of the work Rewrite does on one message; what lies beyond them
// is sent untracked.
const (
	// MaxPartBytes bounds an HTML part, decoded.
	MaxPartBytes = 4 << 20
	// maxDepth bounds the nesting of multiparts.
	maxDepth = 8
	// maxParts bounds the parts looked at in one message.
	maxParts = 200
	// maxLine is the longest line RFC 5322 §2.1.1 allows, without CRLF.
	maxLine = 998
)

// Links says how Rewrite tracks one copy of a message.
type Links struct {
	// Base is the scheme and host of the endpoints, such as
	// "https://t.acme.example", without a trailing slash.
	Base string
	// Opens adds the open pixel; Clicks rewrites the links.
	Opens, Clicks bool
	// Message and Recipient go into the tokens; Recipient is empty when
	// the copy goes to several recipients.
	Message, Recipient pulid.ID
	Signer             *Signer
}

// Result counts what Rewrite changed.
type Result struct {
	// Parts is the number of HTML parts rewritten, Links the number of
	// links pointed at the click endpoint.
	Parts, Links int
}

// Rewrite returns raw (a message with CRLF line endings) with its HTML
// parts tracked as l says. A message with nothing to track, or whose
// structure it cannot follow, comes back unchanged. Only signing errors
// are returned.
func Rewrite(raw []byte, l Links) ([]byte, Result, error) {
	var res Result
	if !l.Opens && !l.Clicks {
		return raw, res, nil
	}
	w := walker{l: &l, res: &res}
	out, err := w.entity(raw, 0)
	if err != nil {
		return nil, Result{}, err
	}
	if out == nil {
		return raw, Result{}, nil
	}
	return out, res, nil
}

type walker struct {
	l     *Links
	res   *Result
	parts int
}

// entity returns the entity b (header, blank line, body) rewritten, or nil
// when nothing in it changed.
func (w *walker) entity(b []byte, depth int) ([]byte, error) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		return nil, nil
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, nil
	}
	head, body := b[:end+4], b[end+4:]
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return nil, nil
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		// RFC 2045 §5.2: no (or a broken) Content-Type is text/plain.
		return nil, nil
	}
	var nb []byte
	switch {
	case ct == "multipart/signed", ct == "multipart/encrypted":
		// Changing a signed part breaks its signature (RFC 1847).
		return nil, nil
	case strings.HasPrefix(ct, "multipart/"):
		nb, err = w.multipart(body, params["boundary"], depth)
	case ct == "text/html" && !attachment(h):
		nb, err = w.html(body, strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))),
			params["charset"])
	}
	if nb == nil || err != nil {
		return nil, err
	}
	return append(append(make([]byte, 0, len(head)+len(nb)), head...), nb...), nil
}

// attachment reports whether the part is meant as a file, not as the body.
func attachment(h textproto.Header) bool {
	d, _, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	return err == nil && d == "attachment"
}

// multipart rewrites the body parts between the boundary delimiters of
// body (RFC 2046 §5.1.1); the preamble, the delimiters and the epilogue
// stay as they are.
func (w *walker) multipart(body []byte, boundary string, depth int) ([]byte, error) {
	if boundary == "" {
		return nil, nil
	}
	spans := partSpans(body, boundary)
	var out []byte
	last := 0
	for _, s := range spans {
		nb, err := w.entity(body[s[0]:s[1]], depth+1)
		if err != nil {
			return nil, err
		}
		if nb == nil {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(body)+4096)
		}
		out = append(append(out, body[last:s[0]]...), nb...)
		last = s[1]
	}
	if out == nil {
		return nil, nil
	}
	return append(out, body[last:]...), nil
}

// partSpans returns the [start, end) offsets of body's parts: each starts
// after a delimiter line and ends at the CRLF that precedes the next
// delimiter, which belongs to it. Parts after a missing close delimiter
// are dropped, as unsafe to rewrite.
func partSpans(body []byte, boundary string) [][2]int {
	delim := []byte("--" + boundary)
	var spans [][2]int
	start := -1
	for i := 0; i < len(body); {
		// Delimiters start a line: at the body's start or after CRLF.
		j := i
		if i > 0 || !bytes.HasPrefix(body, delim) {
			k := bytes.Index(body[i:], append([]byte("\r\n"), delim...))
			if k < 0 {
				return nil
			}
			j = i + k + 2
		}
		after := j + len(delim)
		closing := bytes.HasPrefix(body[after:], []byte("--"))
		eol := bytes.Index(body[after:], []byte("\r\n"))
		if !closing && (eol < 0 || strings.Trim(string(body[after:after+eol]), " \t") != "") {
			// "--boundaryX": a longer line, not a delimiter.
			i = after
			continue
		}
		if start >= 0 {
			spans = append(spans, [2]int{start, max(j-2, start)})
		}
		if closing {
			return spans
		}
		start = after + eol + 2
		i = start
	}
	return nil
}

// html rewrites one text/html body in its transfer encoding.
func (w *walker) html(body []byte, cte, charset string) ([]byte, error) {
	if !asciiCompatible(charset) {
		return nil, nil
	}
	doc, err := decode(body, cte)
	if err != nil || len(doc) > MaxPartBytes {
		return nil, nil
	}
	doc, links, err := rewriteHTML(doc, w.l)
	if err != nil {
		return nil, err
	}
	enc := encode(doc, cte)
	if enc == nil {
		return nil, nil
	}
	if cte == "base64" && !bytes.HasSuffix(body, []byte("\r\n")) {
		// The CRLF before the next delimiter belongs to it.
		enc = bytes.TrimSuffix(enc, []byte("\r\n"))
	}
	w.res.Parts++
	w.res.Links += links
	return enc, nil
}

// asciiCompatible reports whether ASCII text (tags and URLs) reads the
// same in charset, so that the HTML can be rewritten without decoding it.
func asciiCompatible(charset string) bool {
	c := strings.ToLower(charset)
	return !strings.HasPrefix(c, "utf-16") && !strings.HasPrefix(c, "utf-32") &&
		!strings.HasPrefix(c, "ucs-") && c != "utf-7"
}

// decode undoes a content transfer encoding (RFC 2045 §6).
func decode(body []byte, cte string) ([]byte, error) {
	switch cte {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, newlineStripper{bytes.NewReader(body)}))
	}
	return nil, fmt.Errorf("track: unknown transfer encoding %q", cte)
}

// encode applies the transfer encoding again, or returns nil when the
// rewritten text no longer fits it (a line too long for 7bit or 8bit).
func encode(doc []byte, cte string) []byte {
	switch cte {
	case "quoted-printable":
		var b bytes.Buffer
		qw := quotedprintable.NewWriter(&b)
		// Text mode: the CRLFs of doc stay hard line breaks.
		_, _ = qw.Write(doc)
		_ = qw.Close()
		return b.Bytes()
	case "base64":
		return base64Lines(doc)
	case "binary":
		return doc
	}
	for line := range bytes.SplitSeq(doc, []byte("\r\n")) {
		if len(line) > maxLine {
			return nil
		}
	}
	return doc
}

// base64Lines encodes b in base64 lines of 76 characters (RFC 2045 §6.8).
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	out := make([]byte, 0, len(enc)+len(enc)/76*2+2)
	for len(enc) > 76 {
		out = append(append(out, enc[:76]...), "\r\n"...)
		enc = enc[76:]
	}
	return append(append(out, enc...), "\r\n"...)
}

// newlineStripper drops CR and LF, which base64 bodies break lines with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		m, err := n.r.Read(p)
		k := 0
		for _, c := range p[:m] {
			if c != '\r' && c != '\n' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}
