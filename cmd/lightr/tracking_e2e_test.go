package main

import (
	"database/sql"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// trackedLink matches a tracking URL in the HTML the peer received.
var trackedLink = regexp.MustCompile(`http://track\.acme\.test(/t/[oc]/[A-Za-z0-9_-]+)`)

// htmlOf parses raw with Python's email package, fails on any MIME
// defect, and returns the decoded text/html part.
func htmlOf(t *testing.T, raw []byte) string {
	t.Helper()
	const script = `
import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
parts = list(m.walk())
bad = [d for p in parts for d in p.defects]
if bad:
    sys.exit("defects: %r" % bad)
print(m.get_body(preferencelist=("html",)).get_content(), end="")
`
	cmd := exec.Command(debianPython, "-c", script)
	cmd.Stdin = strings.NewReader(string(raw))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 email: %s %v\n%s", out, err, raw)
	}
	return string(out)
}

// curlStatus fetches path from the server with curl, following no
// redirect, and returns "<code> <redirect url>" and the content type.
func curlStatus(t *testing.T, addr, path string) (string, string) {
	t.Helper()
	out, err := exec.Command("curl", "-s", "-o", "/dev/null", "-A", "TestMail/1.0",
		"-w", "%{http_code} %{redirect_url}\n%{content_type}", "http://"+addr+path).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", path, err)
	}
	status, ctype, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(status), ctype
}

// trackingEvents returns "type first url" for each open and click event
// of message id, in log order (seq).
func (e *outboundEnv) trackingEvents(t *testing.T, id string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.c.dir, "data", "lightr.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`SELECT type, recipient, payload FROM events
		WHERE message_id = ? AND type IN ('message.opened', 'message.clicked') ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var typ, rcpt, payload string
		if err := rows.Scan(&typ, &rcpt, &payload); err != nil {
			t.Fatal(err)
		}
		var p struct {
			First     bool   `json:"first"`
			URL       string `json:"url"`
			UserAgent string `json:"user_agent"`
			IP        string `json:"ip"`
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatal(err)
		}
		if rcpt != "carol@remote.test" || p.UserAgent != "TestMail/1.0" || p.IP != "127.0.0.1" {
			t.Errorf("%s event of %q: %s", typ, rcpt, payload)
		}
		first := map[bool]string{true: "first"}[p.First]
		out = append(out, strings.Join(strings.Fields(typ+" "+first+" "+p.URL), " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOutbound_Tracking: sendEmail with trackOpens and trackClicks
// reaches the peer with its links and an open pixel pointing at
// tracking.base_url, DKIM still verifying and the MIME intact; curl
// fetching the pixel gets a GIF and following the link a 302 to exactly
// the original URL, each recorded after the delivery, first and
// repeated; a tampered token is 404; a message that opts out is sent as
// composed.
func TestOutbound_Tracking(t *testing.T) {
	e := newOutboundEnv(t, nil, false)
	e.c.env = append(e.c.env, "LIGHTR_TRACKING_BASE_URL=http://track.acme.test")
	e.http = e.c.serve(nil)
	const html = `<html><body><p>Hello <a href=\"https://example.com/a?x=1&amp;y=2\">the post</a>, ` +
		`<a href=\"mailto:alice@acme.test\">mail</a>, <a href=\"#top\">top</a>.</p></body></html>`
	id := e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Tracked",
		text: "Hello", html: "`+html+`", trackOpens: true, trackClicks: true}`)
	m := e.peer.wait(t, 1, 20*time.Second)[0]
	verifyDKIM(t, m.raw, map[string]string{"default": e.record})
	body := htmlOf(t, m.raw)
	if !strings.Contains(body, `<a href="mailto:alice@acme.test">`) || !strings.Contains(body, `<a href="#top">`) ||
		strings.Contains(body, "https://example.com") {
		t.Fatalf("links not rewritten as expected:\n%s", body)
	}
	var open, click string
	for _, l := range trackedLink.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(l[1], "/t/o/") {
			open = l[1]
		} else {
			click = l[1]
		}
	}
	if open == "" || click == "" || !strings.Contains(body, `width="1" height="1"`) {
		t.Fatalf("no pixel or tracked link:\n%s", body)
	}
	e.waitEvents(t, id, "carol@remote.test", "message.delivered", 10*time.Second)

	for range 2 {
		if status, ctype := curlStatus(t, e.http, open); status != "200" || ctype != "image/gif" {
			t.Errorf("pixel: %q %q", status, ctype)
		}
		if status, _ := curlStatus(t, e.http, click); status != "302 https://example.com/a?x=1&y=2" {
			t.Errorf("click: %q", status)
		}
	}
	tampered := click[:len(click)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(click, "AAA")]
	for _, p := range []string{tampered, "/t/c/" + strings.TrimPrefix(open, "/t/o/"), "/t/o/nonsense"} {
		if status, _ := curlStatus(t, e.http, p); status != "404" {
			t.Errorf("%s: %q, want 404", p, status)
		}
	}

	want := []string{
		"message.opened first", "message.clicked first https://example.com/a?x=1&y=2",
		"message.opened", "message.clicked https://example.com/a?x=1&y=2",
	}
	if got := e.trackingEvents(t, id); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tracking events\n%q, want\n%q", got, want)
	}
	all := e.events(t, id, "carol@remote.test")
	if len(all) < 2 || all[1] != "message.delivered" {
		t.Errorf("events %v: the opens and clicks should follow the delivery", all)
	}

	// Opting out (the domain's default is off too) sends the HTML as is.
	e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Plain",
		html: "`+html+`", trackOpens: false}`)
	plain := e.peer.wait(t, 2, 20*time.Second)[1]
	b := htmlOf(t, plain.raw)
	if strings.Contains(b, "/t/") || !strings.Contains(b, "https://example.com/a?x=1&amp;y=2") {
		t.Errorf("untracked message changed:\n%s", b)
	}
}
