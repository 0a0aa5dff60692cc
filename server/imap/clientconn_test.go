package imap_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	imapsrv "github.com/lightr-mail/lightr/server/imap"
)

const lightrID = `* ID ("name" "Lightr")`

// TestID_Client sends ID (RFC 2971) with go-imap's client in each state,
// over the plain port and over implicit TLS.
func TestID_Client(t *testing.T) {
	e := start(t, nil)
	ts := e.startTLS(t)

	for name, dial := range map[string]func() (*imapclient.Client, error){
		"plain": func() (*imapclient.Client, error) { return imapclient.DialInsecure(e.addr, nil) },
		"implicit": func() (*imapclient.Client, error) {
			return imapclient.DialTLS(ts.secure, &imapclient.Options{TLSConfig: ts.client})
		},
	} {
		c, err := dial()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.WaitGreeting(); err != nil {
			t.Fatal(err)
		}
		if !c.Caps().Has("ID") {
			t.Errorf("%s: ID not announced: %v", name, c.Caps())
		}
		sendID := func(state string) {
			t.Helper()
			got, err := c.ID(&imap.IDData{Name: "go-imap", Version: "2.0"}).Wait()
			if err != nil || got == nil || got.Name != "Lightr" || got.Version != "" {
				t.Errorf("%s, %s: ID answered %+v, %v", name, state, got, err)
			}
		}
		sendID("not authenticated")
		if err := c.Login(e.alice.Email, password).Wait(); err != nil {
			t.Fatalf("%s: login: %v", name, err)
		}
		if !c.Caps().Has("ID") {
			t.Errorf("%s: ID not announced after login: %v", name, c.Caps())
		}
		sendID("authenticated")
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		sendID("selected")
		_ = c.Close()
	}
}

// TestID_Raw checks ID's answers line by line: in order among pipelined
// commands, NIL, malformed arguments refused with BAD (not BYE, even
// before login), a literal refused and skipped, and a command cut into
// pieces on the wire.
func TestID_Raw(t *testing.T) {
	e := start(t, nil)
	rc := dialRaw(t, e.addr)

	// Three commands in one write: the answers keep their order.
	rc.send("a1 NOOP\r\na2 ID NIL\r\na3 NOOP")
	want := []string{"a1 OK", lightrID, "a2 OK ID completed", "a3 OK"}
	for _, w := range want {
		if l := rc.line(); !strings.HasPrefix(l, w) {
			t.Fatalf("got %q, want %q", l, w)
		}
	}

	for _, bad := range []string{`ID ("name")`, `ID`, `ID ("name" "x"`, `ID (name "a" "b")`, `ID ("n" "v") x`} {
		if u, st := rc.cmd("%s", bad); len(u) != 0 || !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s: %q %q", bad, u, st)
		}
	}
	if u, st := rc.cmd(`ID ("name" "mutt" "os" NIL "support-url" "x \"y\" \\z")`); len(u) != 1 || u[0] != lightrID ||
		st != "OK ID completed" {
		t.Errorf("ID with pairs: %q %q", u, st)
	}

	// A non-synchronizing literal in ID: refused, its bytes and the rest
	// of the command dropped, and the next command is read as one.
	rc.send("b1 ID (\"name\" {5+}\r\nhello)\r\nb2 NOOP")
	if l := rc.line(); !strings.HasPrefix(l, "b1 BAD") {
		t.Errorf("ID with a literal: %q", l)
	}
	if l := rc.line(); !strings.HasPrefix(l, "b2 OK") {
		t.Errorf("after ID with a literal: %q", l)
	}

	// The command arriving a few bytes at a time.
	for _, piece := range []string{"c", "1 I", "D (\"na", "me\" \"slow\")\r", "\n"} {
		if _, err := rc.c.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := rc.line(); l != lightrID {
		t.Errorf("ID in pieces: %q", l)
	}
	if l := rc.line(); l != "c1 OK ID completed" {
		t.Errorf("ID in pieces: %q", l)
	}
	rc.ok("LOGIN %s %q", e.alice.Email, password)
	rc.ok("LOGOUT")
}

// TestID_InLiterals appends a message whose lines look like ID and
// STARTTLS commands: they are message bytes, stored as sent, and nothing
// answers them. A synchronizing literal that go-imap refuses (over the
// APPENDLIMIT) is not waited for.
func TestID_InLiterals(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxMessageBytes = 4096 })
	rc := e.raw(e.alice)
	msg := "From: a@example.test\r\nSubject: x\r\n\r\n" +
		"x1 ID NIL\r\nx2 STARTTLS\r\nx3 ID (\"name\" {3}\r\n* CAPABILITY ID\r\n"
	for _, form := range []string{"{%d}", "{%d+}"} {
		rc.tag++
		tag := fmt.Sprintf("t%d", rc.tag)
		rc.send(tag+" APPEND INBOX "+form, len(msg))
		if form == "{%d}" {
			if l := rc.line(); !strings.HasPrefix(l, "+") {
				t.Fatalf("APPEND: %q", l)
			}
		}
		if _, err := rc.c.Write([]byte(msg + "\r\n")); err != nil {
			t.Fatal(err)
		}
		if l := rc.line(); !strings.HasPrefix(l, tag+" OK") {
			t.Fatalf("APPEND %s: %q", form, l)
		}
	}
	rc.ok("SELECT INBOX")
	u := rc.ok("FETCH 1:2 BODY[]")
	if len(u) != 2 {
		t.Fatalf("FETCH: %q", u)
	}
	for _, l := range u {
		if !strings.HasSuffix(l, "\r\n"+msg+")") {
			t.Errorf("stored %q", l)
		}
	}

	// Over the limit: go-imap answers NO [TOOBIG] instead of "+", the
	// client sends no literal, and the next line is a command again.
	rc.send("big APPEND INBOX {100000}")
	if l := rc.line(); !strings.HasPrefix(l, "big NO [TOOBIG]") {
		t.Fatalf("APPEND over the limit: %q", l)
	}
	if u, st := rc.cmd("ID NIL"); len(u) != 1 || u[0] != lightrID || !strings.HasPrefix(st, "OK") {
		t.Errorf("ID after a refused literal: %q %q", u, st)
	}
}

// TestID_StartTLS checks the STARTTLS done below go-imap: what a client
// sends in clear after STARTTLS is dropped, not run under TLS (the
// command injection of CVE-2011-0411), AUTHENTICATE is refused before
// TLS without asking for credentials, and ID works after the upgrade.
func TestID_StartTLS(t *testing.T) {
	e := start(t, nil)
	ts := e.startTLS(t)
	rc := dialRaw(t, ts.plain)
	if _, st := rc.cmd("AUTHENTICATE PLAIN"); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Errorf("AUTHENTICATE before TLS: %q", st)
	}
	if u, _ := rc.cmd("ID NIL"); len(u) != 1 || u[0] != lightrID {
		t.Errorf("ID before TLS: %q", u)
	}
	rc.send("s1 STARTTLS\r\ns2 LOGIN %s %q", e.alice.Email, password)
	if l := rc.line(); !strings.HasPrefix(l, "s1 OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(rc.c, ts.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc.c, rc.r = tc, bufio.NewReader(tc)
	u, st := rc.cmd("CAPABILITY")
	if !strings.HasPrefix(st, "OK") || len(u) != 1 {
		t.Fatalf("CAPABILITY: %q %q", u, st)
	}
	caps := capsOf(u[0])
	if !caps["ID"] || !caps["AUTH=PLAIN"] || caps["STARTTLS"] || caps["LOGINDISABLED"] {
		t.Errorf("capabilities after STARTTLS: %q", u[0])
	}
	if _, st := rc.cmd("SELECT INBOX"); !strings.HasPrefix(st, "BAD") && !strings.HasPrefix(st, "NO") {
		t.Errorf("SELECT after STARTTLS: %q (the LOGIN sent in clear counted)", st)
	}
	if _, st := rc.cmd("STARTTLS"); !strings.HasPrefix(st, "NO") && !strings.HasPrefix(st, "BAD") {
		t.Errorf("second STARTTLS: %q", st)
	}
	if u, _ := rc.cmd("ID NIL"); len(u) != 1 || u[0] != lightrID {
		t.Errorf("ID after TLS: %q", u)
	}
	rc.ok("LOGIN %s %q", e.alice.Email, password)
	rc.ok("SELECT INBOX")
}

// TestCommandLimit sends a command longer than MaxCommandBytes: the
// connection ends with BYE [TOOBIG]. A command just under the limit, and
// one whose literal is what makes it long, pass.
func TestCommandLimit(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxCommandBytes = 1000 })
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	// "tN UID SEARCH SUBJECT " and the quotes and CRLF: under 1,000 bytes.
	if _, st := rc.cmd(`UID SEARCH SUBJECT "%s"`, strings.Repeat("x", 900)); !strings.HasPrefix(st, "OK") {
		t.Errorf("a 930-byte command: %q", st)
	}
	msg := testMessage("long", strings.Repeat("y", 3000))
	rc.send("a1 APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	l := rc.line()
	for strings.HasPrefix(l, "* ") { // EXISTS
		l = rc.line()
	}
	if !strings.HasPrefix(l, "a1 OK") {
		t.Errorf("APPEND of a 3 KB literal: %q", l)
	}
	rc.send(`a2 UID SEARCH SUBJECT "%s" SUBJECT "%s"`, strings.Repeat("x", 600), strings.Repeat("z", 600))
	if l := rc.line(); !strings.HasPrefix(l, "* BYE [TOOBIG]") {
		t.Fatalf("a 1,230-byte command: %q", l)
	}
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.r.ReadByte(); err == nil {
		t.Error("the connection stays open after BYE")
	}
}
