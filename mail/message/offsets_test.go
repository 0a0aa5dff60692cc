package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/google/go-cmp/cmp"
)

// goMessageFails lists the test messages that go-message's reader rejects
// part way, with the reason; the offsets test compares what it read up to
// there and checks that it does fail, so that the list stays true.
var goMessageFails = map[string]string{
	"broken-boundary": "a line that starts with the boundary but is no delimiter",
	"no-blank-line":   "a body line where the header expects a field",
}

// headerFields flattens a go-message header for comparison.
func headerFields(h textproto.Header) [][2]string {
	var out [][2]string
	for f := h.Fields(); f.Next(); {
		out = append(out, [2]string{f.Key(), f.Value()})
	}
	return out
}

// offsetChecker compares a Part tree with what go-message's textproto
// reader returns for the same entities.
type offsetChecker struct {
	t      *testing.T
	raw    []byte
	failed error // the first error of go-message's reader
}

func (c *offsetChecker) fail(err error) {
	if c.failed == nil {
		c.failed = err
	}
}

// entity checks p against an entity that go-message read: its header
// fields and its body bytes.
func (c *offsetChecker) entity(section string, p *Part, h textproto.Header, body []byte) {
	c.t.Helper()
	if got := p.Body(c.raw); !bytes.Equal(got, body) {
		c.t.Errorf("part %q: raw[%d:%d] = %q, go-message body %q",
			section, p.BodyStart, p.BodyEnd, clip(got), clip(body))
	}
	br := bufio.NewReader(bytes.NewReader(p.Header(c.raw)))
	hdr, err := textproto.ReadHeader(br)
	if err != nil {
		c.t.Errorf("part %q: header slice does not parse: %v", section, err)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		c.t.Errorf("part %q: header slice has %q after the header", section, clip(rest))
	}
	if diff := cmp.Diff(headerFields(h), headerFields(hdr)); diff != "" {
		c.t.Errorf("part %q: header fields differ (-go-message +slice):\n%s", section, diff)
	}
	switch {
	case p.IsMultipart():
		c.multipart(section, p, body)
	case p.Message != nil:
		br := bufio.NewReader(bytes.NewReader(body))
		eh, err := textproto.ReadHeader(br)
		if err != nil {
			c.fail(err)
			return
		}
		rest, _ := io.ReadAll(br)
		c.entity(section+".HEADER", p.Message.Body, eh, rest)
	}
}

// multipart reads body with go-message's multipart reader and checks each
// part it returns. When the reader fails, the part before the failure is
// skipped: go-message ended it at the line it then rejected.
func (c *offsetChecker) multipart(section string, p *Part, body []byte) {
	c.t.Helper()
	mr := textproto.NewMultipartReader(bytes.NewReader(body), p.Params["boundary"])
	type gmPart struct {
		h    textproto.Header
		body []byte
	}
	var parts []gmPart
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.fail(err)
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
			break
		}
		b, err := io.ReadAll(part)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			c.fail(err)
			break
		}
		parts = append(parts, gmPart{h: part.Header, body: b})
	}
	if c.failed == nil && len(parts) != len(p.Children) {
		c.t.Errorf("part %q: %d children, go-message reads %d", section, len(p.Children), len(parts))
	}
	for i := range min(len(parts), len(p.Children)) {
		c.entity(joinSection(section, i+1), p.Children[i], parts[i].h, parts[i].body)
	}
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:80:80], "..."...)
	}
	return b
}

func TestParse_OffsetsMatchGoMessage(t *testing.T) {
	for _, m := range loadMessages(t) {
		t.Run(m.name, func(t *testing.T) {
			p := Parse(m.raw, Limits{})
			c := &offsetChecker{t: t, raw: m.raw}
			br := bufio.NewReader(bytes.NewReader(m.raw))
			h, err := textproto.ReadHeader(br)
			if err != nil {
				c.fail(err)
			} else {
				body, _ := io.ReadAll(br)
				c.entity("", p.Root, h, body)
			}
			reason, expectFail := goMessageFails[m.name]
			switch {
			case expectFail && c.failed == nil:
				t.Errorf("go-message reads it without error; remove it from goMessageFails (%s)", reason)
			case !expectFail && c.failed != nil:
				t.Errorf("go-message fails: %v", c.failed)
			}
		})
	}
}
