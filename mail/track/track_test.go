package track_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/track"
)

func signer(t *testing.T) *track.Signer {
	t.Helper()
	s, err := track.NewSigner(bytes.Repeat([]byte{7}, track.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	s := signer(t)
	msg, rcpt := pulid.New("out"), pulid.New("rcp")
	for _, want := range []track.Token{
		{Kind: track.KindOpen, Message: msg, Recipient: rcpt},
		{Kind: track.KindOpen, Message: msg},
		{Kind: track.KindClick, Message: msg, Recipient: rcpt, URL: "https://example.com/a?b=c&d=é#x"},
		{Kind: track.KindClick, Message: msg, URL: "http://example.com/"},
	} {
		tok, err := s.Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("token %q is not URL-safe", tok)
		}
		got, err := s.Decode(want.Kind, tok)
		if err != nil || got != want {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", want, got, err)
		}
	}
}

func TestTokenTampered(t *testing.T) {
	s := signer(t)
	tok, err := s.Encode(track.Token{Kind: track.KindClick, Message: pulid.New("out"), URL: "https://a.example/"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := track.NewSigner(bytes.Repeat([]byte{8}, track.KeySize))
	b, _ := base64.RawURLEncoding.DecodeString(tok)
	for name, f := range map[string]func() (*track.Signer, track.Kind, string){
		"other kind": func() (*track.Signer, track.Kind, string) { return s, track.KindOpen, tok },
		"other key":  func() (*track.Signer, track.Kind, string) { return other, track.KindClick, tok },
		"truncated":  func() (*track.Signer, track.Kind, string) { return s, track.KindClick, tok[:len(tok)-2] },
		"empty":      func() (*track.Signer, track.Kind, string) { return s, track.KindClick, "" },
		"not base64": func() (*track.Signer, track.Kind, string) { return s, track.KindClick, tok + "!" },
	} {
		sg, k, in := f()
		if _, err := sg.Decode(k, in); !errors.Is(err, track.ErrBadToken) {
			t.Errorf("%s: Decode = %v, want ErrBadToken", name, err)
		}
	}
	// Every single changed byte, the URL's included, is refused.
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		if _, err := s.Decode(track.KindClick, base64.RawURLEncoding.EncodeToString(c)); err == nil {
			t.Fatalf("byte %d changed: token accepted", i)
		}
	}
	if _, err := track.NewSigner([]byte("short")); err == nil {
		t.Error("NewSigner accepted a 5-byte key")
	}
}

const page = `<!DOCTYPE html>
<HTML><Head><title>Hi</title></Head>
<BODY class=x>
<p>Read <A HREF="https://example.com/post?id=1&amp;ref=mail" class="btn">the post</A>,
<a href='http://example.org/'>another</a>, <a href="mailto:bob@example.com">mail</a>,
<a href="#top">top</a>, <a href="/relative">relative</a>, <a name=x>anchor</a>,
<a href="ftp://example.net/f">ftp</a>.</p>
<script>var s = "<a href='https://example.com/in-script'>";</script>
</BODY>
</HTML>
`

func links(l track.Links) track.Links {
	l.Base = "https://t.acme.test"
	l.Message = pulid.New("out")
	return l
}

// clickURL matches a rewritten link.
var clickURL = regexp.MustCompile(`https://t\.acme\.test/t/c/([A-Za-z0-9_-]+)`)

func TestRewriteHTML(t *testing.T) {
	s := signer(t)
	l := links(track.Links{Opens: true, Clicks: true, Signer: s, Recipient: pulid.New("rcp")})
	raw := "From: a@acme.test\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(page, "\n", "\r\n")
	out, res, err := track.Rewrite([]byte(raw), l)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts != 1 || res.Links != 2 {
		t.Errorf("Result = %+v, want 1 part and 2 links", res)
	}
	got := string(out)

	// The two http(s) links point at the endpoint and name their URL.
	var urls []string
	for _, m := range clickURL.FindAllStringSubmatch(got, -1) {
		tok, err := s.Decode(track.KindClick, m[1])
		if err != nil {
			t.Fatal(err)
		}
		if tok.Message != l.Message || tok.Recipient != l.Recipient {
			t.Errorf("token %+v names another message or recipient", tok)
		}
		urls = append(urls, tok.URL)
	}
	want := []string{"https://example.com/post?id=1&ref=mail", "http://example.org/"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("tracked URLs %q, want %q", urls, want)
	}
	if !strings.Contains(got, `class="btn">the post</A>`) {
		t.Errorf("the rewritten tag lost its other attributes:\n%s", got)
	}

	// Everything else is byte for byte what it was.
	for _, keep := range []string{
		"<HTML><Head><title>Hi</title></Head>", "<BODY class=x>", `<a href="mailto:bob@example.com">`,
		`<a href="#top">`, `<a href="/relative">`, `<a href="ftp://example.net/f">`,
		`"<a href='https://example.com/in-script'>"`, "From: a@acme.test\r\n",
	} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q changed:\n%s", keep, got)
		}
	}

	// The pixel comes right before </BODY>.
	i := strings.Index(got, `<img src="https://t.acme.test/t/o/`)
	if i < 0 || !strings.HasPrefix(got[strings.Index(got[i:], ">")+i+1:], "</BODY>") {
		t.Errorf("no pixel just before </BODY>:\n%s", got)
	}

	// A second pass tracks nothing twice.
	again, res, err := track.Rewrite(out, track.Links{Base: l.Base, Clicks: true, Signer: s, Message: l.Message})
	if err != nil || res.Links != 0 || !bytes.Equal(again, out) {
		t.Errorf("second Rewrite changed %d links (%v)", res.Links, err)
	}
}

func TestRewriteNothingToDo(t *testing.T) {
	s := signer(t)
	for name, tt := range map[string]struct {
		raw string
		l   track.Links
	}{
		"off":        {"Content-Type: text/html\r\n\r\n<a href=\"https://x.test/\">x</a>", track.Links{}},
		"plain text": {"Content-Type: text/plain\r\n\r\nhttps://x.test/", track.Links{Opens: true, Clicks: true}},
		"no type":    {"Subject: x\r\n\r\n<a href=\"https://x.test/\">x</a>", track.Links{Opens: true, Clicks: true}},
		"attachment": {"Content-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<p>x</p>",
			track.Links{Opens: true}},
		"signed": {"Content-Type: multipart/signed; boundary=b; protocol=\"application/pgp-signature\"\r\n\r\n" +
			"--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b\r\nContent-Type: application/pgp-signature" +
			"\r\n\r\nsig\r\n--b--\r\n", track.Links{Opens: true}},
		"utf-16": {"Content-Type: text/html; charset=utf-16\r\n\r\nxx", track.Links{Opens: true}},
	} {
		tt.l = links(tt.l)
		tt.l.Signer = s
		out, _, err := track.Rewrite([]byte(tt.raw), tt.l)
		if err != nil || string(out) != tt.raw {
			t.Errorf("%s: Rewrite changed the message (%v):\n%s", name, err, out)
		}
	}
}

// multipartMessage is an alternative of text and a quoted-printable HTML
// part, with a base64 HTML attachment part in a mixed.
func multipartMessage(html string) string {
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	_, _ = w.Write([]byte(html))
	_ = w.Close()
	b64 := base64.StdEncoding.EncodeToString([]byte(html))
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return "From: a@acme.test\r\nTo: b@remote.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
		"This is a multi-part message.\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee https://example.com/\r\n" +
		"--inner\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		qp.String() + "\r\n--inner--\r\n" +
		"--outer\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		strings.Join(lines, "\r\n") + "\r\n" +
		"--outer\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=a.html\r\n\r\n" +
		"<a href=\"https://example.com/file\">f</a>\r\n" +
		"--outer--\r\nepilogue\r\n"
}

func TestRewriteMultipart(t *testing.T) {
	s := signer(t)
	html := "<html><body><p>caf\u00e9 " + strings.Repeat("long line ", 20) +
		"<a href=\"https://example.com/x?a=1&amp;b=2\">x</a></p></body></html>\r\n"
	raw := multipartMessage(html)
	l := links(track.Links{Opens: true, Clicks: true, Signer: s})
	out, res, err := track.Rewrite([]byte(raw), l)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts != 2 || res.Links != 2 {
		t.Fatalf("Result = %+v, want 2 parts and 2 links:\n%s", res, out)
	}
	for _, keep := range []string{"This is a multi-part message.\r\n", "See https://example.com/\r\n",
		"<a href=\"https://example.com/file\">f</a>\r\n--outer--\r\nepilogue\r\n"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("%q changed", keep)
		}
	}

	// Read back by go-message: the same structure, the HTML decoded.
	mr, err := mail.CreateReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var htmls []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		b, _ := io.ReadAll(p.Body)
		if ct == "text/html" {
			htmls = append(htmls, string(b))
		}
	}
	if len(htmls) != 3 {
		t.Fatalf("%d HTML parts, want 3", len(htmls))
	}
	for i, h := range htmls[:2] {
		if !strings.Contains(h, "caf\u00e9 long line") || !clickURL.MatchString(h) ||
			!strings.Contains(h, `/t/o/`) || !strings.HasSuffix(h, "</body></html>\r\n") {
			t.Errorf("HTML part %d not tracked as expected:\n%s", i, h)
		}
		tok, err := s.Decode(track.KindClick, clickURL.FindStringSubmatch(h)[1])
		if err != nil || tok.URL != "https://example.com/x?a=1&b=2" {
			t.Errorf("part %d: click token %+v, %v", i, tok, err)
		}
	}
	if htmls[2] != "<a href=\"https://example.com/file\">f</a>" {
		t.Errorf("the attachment changed: %q", htmls[2])
	}
	for line := range strings.SplitSeq(string(out), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "<") {
			t.Errorf("encoded line of %d bytes: %q", len(line), line)
		}
	}
}
