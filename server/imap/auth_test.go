package imap_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	imapsrv "github.com/lightr-mail/lightr/server/imap"
)

// capsOf returns the capabilities of a "* CAPABILITY ..." line or of an
// "OK [CAPABILITY ...]" status.
func capsOf(line string) map[string]bool {
	line = strings.TrimPrefix(line, "* ")
	if i := strings.Index(line, "[CAPABILITY "); i >= 0 {
		line = line[i+1 : strings.IndexByte(line, ']')]
	}
	out := map[string]bool{}
	for _, f := range strings.Fields(line)[1:] {
		out[strings.ToUpper(f)] = true
	}
	return out
}

// TestAuth_CapabilitiesAfterLogin checks that every extension Lightr
// offers is announced once logged in, with the APPENDLIMIT of the options.
func TestAuth_CapabilitiesAfterLogin(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxMessageBytes = 1 << 20 })
	rc := e.raw(e.alice)
	u := rc.ok("CAPABILITY")
	if len(u) != 1 {
		t.Fatalf("CAPABILITY: %q", u)
	}
	caps := capsOf(u[0])
	for _, c := range []string{"IMAP4REV1", "IMAP4REV2", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE",
		"UNSELECT", "ENABLE", "LITERAL+", "SASL-IR", "SPECIAL-USE", "CREATE-SPECIAL-USE",
		"LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "ESEARCH", "SEARCHRES", "BINARY",
		"APPENDLIMIT=1048576", "CHILDREN", "ID"} {
		if !caps[c] {
			t.Errorf("capability %s missing from %q", c, u[0])
		}
	}
	if caps["LOGINDISABLED"] || caps["AUTH=PLAIN"] {
		t.Errorf("login capabilities after login: %q", u[0])
	}
}

// TestAuth_Login covers LOGIN and AUTHENTICATE PLAIN (with SASL-IR and
// without), right and wrong.
func TestAuth_Login(t *testing.T) {
	t.Parallel() // the failures sleep a second each
	e := start(t, nil)
	plain := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}
	tests := []struct {
		name string
		run  func(rc *rawConn) string
		ok   bool
	}{
		{"login", func(rc *rawConn) string {
			_, st := rc.cmd("LOGIN %s %q", e.alice.Email, password)
			return st
		}, true},
		{"login upper-case address", func(rc *rawConn) string {
			_, st := rc.cmd("LOGIN %s %q", strings.ToUpper(e.alice.Email), password)
			return st
		}, true},
		{"login wrong password", func(rc *rawConn) string {
			_, st := rc.cmd("LOGIN %s wrong", e.alice.Email)
			return st
		}, false},
		{"login unknown address", func(rc *rawConn) string {
			_, st := rc.cmd("LOGIN nobody@example.test %q", password)
			return st
		}, false},
		{"plain initial response", func(rc *rawConn) string {
			_, st := rc.cmd("AUTHENTICATE PLAIN %s", plain(e.alice.Email, password))
			return st
		}, true},
		{"plain continuation", func(rc *rawConn) string {
			rc.tag++
			rc.send("t%d AUTHENTICATE PLAIN", rc.tag)
			if l := rc.line(); !strings.HasPrefix(l, "+") {
				t.Fatalf("continuation: %q", l)
			}
			rc.send("%s", plain(e.alice.Email, password))
			return strings.TrimPrefix(rc.line(), "t2 ")
		}, true},
		{"plain wrong password", func(rc *rawConn) string {
			_, st := rc.cmd("AUTHENTICATE PLAIN %s", plain(e.alice.Email, "wrong"))
			return st
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, e.addr)
			rc.ok("NOOP")
			st := tt.run(rc)
			if tt.ok && !strings.HasPrefix(st, "OK") {
				t.Fatalf("status %q, want OK", st)
			}
			if !tt.ok && !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") {
				t.Fatalf("status %q, want NO [AUTHENTICATIONFAILED]", st)
			}
			if tt.ok {
				rc.ok("SELECT INBOX")
			}
		})
	}
}

// TestAuth_TLSRequired checks that without AllowInsecureAuth a client
// must use STARTTLS before it may log in, and that implicit TLS works.
func TestAuth_TLSRequired(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.AllowInsecureAuth = false })
	// The first server had no certificate: start one that has.
	ts := e.startTLS(t)

	// In clear: LOGINDISABLED and STARTTLS announced, LOGIN refused.
	rc := dialRaw(t, ts.plain)
	u := rc.ok("CAPABILITY")
	if caps := capsOf(u[0]); !caps["LOGINDISABLED"] || !caps["STARTTLS"] || caps["AUTH=PLAIN"] {
		t.Errorf("capabilities before TLS: %q", u[0])
	}
	if _, st := rc.cmd("LOGIN %s %q", e.alice.Email, password); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Errorf("LOGIN before TLS: %q", st)
	}
	if _, st := rc.cmd("AUTHENTICATE PLAIN AGFAAGI="); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Errorf("AUTHENTICATE before TLS: %q", st)
	}

	// After STARTTLS the same connection logs in.
	rc.ok("STARTTLS")
	tc := tls.Client(rc.c, ts.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc.c, rc.r = tc, bufio.NewReader(tc)
	if caps := capsOf(rc.ok("CAPABILITY")[0]); caps["LOGINDISABLED"] || !caps["AUTH=PLAIN"] {
		t.Errorf("capabilities after STARTTLS: %v", caps)
	}
	rc.ok("LOGIN %s %q", e.alice.Email, password)

	// imapclient's STARTTLS and implicit TLS.
	o := &imapclient.Options{TLSConfig: ts.client}
	for name, dial := range map[string]func() (*imapclient.Client, error){
		"starttls": func() (*imapclient.Client, error) { return imapclient.DialStartTLS(ts.plain, o) },
		"implicit": func() (*imapclient.Client, error) { return imapclient.DialTLS(ts.secure, o) },
	} {
		c, err := dial()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.Login(e.alice.Email, password).Wait(); err != nil {
			t.Errorf("%s: login: %v", name, err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Errorf("%s: select: %v", name, err)
		}
		_ = c.Close()
	}
}

// dialFrom connects to addr from the loopback address local, so that a
// test can be two clients on one machine.
func dialFrom(t testing.TB, local, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.line()
	return rc
}

// TestAuth_Throttle fails MaxLoginFailures logins against alice from one
// address: then that address may not log in as anyone, and nobody may
// log in as alice from anywhere, even with her password.
func TestAuth_Throttle(t *testing.T) {
	t.Parallel() // the failures sleep a second each
	e := start(t, func(o *imapsrv.Options) { o.MaxLoginFailures = 2 })
	bob := e.account("bob")
	rc := dialFrom(t, "127.0.0.1", e.addr)
	for range 2 {
		if _, st := rc.cmd("LOGIN %s wrong", e.alice.Email); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("wrong password: %q", st)
		}
	}
	refused := func(rc *rawConn, who string) {
		t.Helper()
		if _, st := rc.cmd("LOGIN %s %q", who, password); !strings.HasPrefix(st, "NO [UNAVAILABLE]") {
			t.Errorf("LOGIN %s: %q, want NO [UNAVAILABLE]", who, st)
		}
	}
	refused(rc, e.alice.Email)
	refused(rc, bob.Email)
	other := dialFrom(t, "127.0.0.2", e.addr)
	refused(other, e.alice.Email)
	other.ok("LOGIN %s %q", bob.Email, password)
}

// TestAuth_Limits covers the connection limits: sessions per account
// (NO [LIMIT], freed at logout) and connections per address (BYE).
func TestAuth_Limits(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) {
		o.MaxConnectionsPerAccount = 2
		o.MaxConnectionsPerIP = 3
	})
	first := e.raw(e.alice)
	e.raw(e.alice)
	third := dialRaw(t, e.addr)
	if _, st := third.cmd("LOGIN %s %q", e.alice.Email, password); !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Errorf("third session: %q, want NO [LIMIT]", st)
	}

	// A fourth connection from the address is turned away at once.
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(l, "* BYE") {
		t.Errorf("fourth connection: %q, want BYE", l)
	}

	// Logging out frees a session of the account.
	first.cmd("LOGOUT")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, st := third.cmd("LOGIN %s %q", e.alice.Email, password)
		if strings.HasPrefix(st, "OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after LOGOUT: %q", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAuth_DisabledAccount refuses the right password of a disabled
// account with CONTACTADMIN.
func TestAuth_DisabledAccount(t *testing.T) {
	e := start(t, nil)
	if err := e.db.Client.Account.UpdateOneID(e.alice.ID).SetDisabled(true).Exec(adminCtx()); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, e.addr)
	if _, st := rc.cmd("LOGIN %s %q", e.alice.Email, password); !strings.HasPrefix(st, "NO [CONTACTADMIN]") {
		t.Errorf("disabled account: %q", st)
	}
}

// TestAuth_IdleTimeout closes a connection silent for longer than
// IdleTimeout.
func TestAuth_IdleTimeout(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.IdleTimeout = 300 * time.Millisecond })
	rc := e.raw(e.alice)
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	for {
		if _, err := rc.r.ReadString('\n'); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("connection closed after %v", d)
	}
}

// TestAuth_Namespace answers one personal namespace with "/".
func TestAuth_Namespace(t *testing.T) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "" || ns.Personal[0].Delim != '/' ||
		len(ns.Other) != 0 || len(ns.Shared) != 0 {
		t.Errorf("NAMESPACE: %+v", ns)
	}
	if _, err := c.Enable(imap.CapIMAP4rev2).Wait(); err != nil {
		t.Errorf("ENABLE IMAP4rev2: %v", err)
	}
}
