package imap_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/lightr-mail/lightr/ent"
	entmbox "github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/mailbox"
	"github.com/lightr-mail/lightr/server/certs"
)

// rawConn is a line-level IMAP client, for the tests that check the exact
// responses and their order.
type rawConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// dialRaw connects to addr and reads the greeting.
func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	if g := rc.line(); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	return rc
}

// raw connects and logs in as a.
func (e *env) raw(a *ent.Account) *rawConn {
	e.t.Helper()
	rc := dialRaw(e.t, e.addr)
	rc.ok("LOGIN %s %q", a.Email, password)
	return rc
}

// line reads one response line without its CRLF, with any literal it
// announces appended, and fails the test after five seconds.
func (rc *rawConn) line() string {
	rc.t.Helper()
	return rc.lineWithin(5 * time.Second)
}

func (rc *rawConn) lineWithin(d time.Duration) string {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	var out strings.Builder
	for {
		l, err := rc.r.ReadString('\n')
		if err != nil {
			rc.t.Fatalf("read: %v (after %q)", err, out.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		out.WriteString(l)
		i := strings.LastIndexByte(l, '{')
		if !strings.HasSuffix(l, "}") || i < 0 {
			return out.String()
		}
		n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-1], "+"))
		if err != nil {
			return out.String()
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(rc.r, lit); err != nil {
			rc.t.Fatalf("read literal: %v", err)
		}
		out.WriteString("\r\n")
		out.Write(lit)
	}
}

// send writes one line.
func (rc *rawConn) send(format string, args ...any) {
	rc.t.Helper()
	_ = rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(rc.c, format+"\r\n", args...); err != nil {
		rc.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged status line (without its tag).
func (rc *rawConn) cmd(format string, args ...any) (untagged []string, status string) {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("t%d", rc.tag)
	rc.send(tag+" "+format, args...)
	for {
		l := rc.line()
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, l)
	}
}

// ok is cmd that fails the test unless the command ends OK.
func (rc *rawConn) ok(format string, args ...any) []string {
	rc.t.Helper()
	u, st := rc.cmd(format, args...)
	if !strings.HasPrefix(st, "OK") {
		rc.t.Fatalf("%s: %s", fmt.Sprintf(format, args...), st)
	}
	return u
}

// testTLS returns a server configuration with a self-signed certificate
// for imap.example.test, and a client configuration that trusts it.
func testTLS(t testing.TB, e *env) (*tls.Config, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned(certFile, keyFile, []string{"imap.example.test"}); err != nil {
		t.Fatal(err)
	}
	cs, err := certs.New(e.db.Client, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	//nolint:gosec // self-signed test certificate
	return cs.TLSConfig(), &tls.Config{ServerName: "imap.example.test", InsecureSkipVerify: true}
}

// tenant is a second organization with its own domain.
type tenant struct {
	org    *ent.Organization
	domain *ent.Domain
}

// newTenant creates an organization with the domain name.
func (e *env) newTenant(name string) *tenant {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	org, err := e.db.Client.Organization.Create().SetName(name).Save(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := directory.CreateDomain(ctx, e.db.Client, &org.ID, ent.CreateDomainInput{Name: name + ".test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return &tenant{org: org, domain: d}
}

// accountIn creates local@ the tenant's domain.
func (e *env) accountIn(tn *tenant, local string) *ent.Account {
	e.t.Helper()
	a, _, err := directory.CreateAccount(viewer.AdminContext(context.Background()), e.db.Client,
		ent.CreateAccountInput{DomainID: tn.domain.ID, LocalPart: local}, password)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// apiCtx is the context of a GraphQL request by a's organization with
// the write scope.
func apiCtx(a *ent.Account) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindOrg, OrgID: a.OrganizationID,
		Scopes: []viewer.Scope{viewer.ScopeRead, viewer.ScopeWrite},
	})
}

func adminCtx() context.Context { return viewer.AdminContext(context.Background()) }

// mailbox returns a's mailbox called name, as stored now.
func (e *env) mailbox(a *ent.Account, name string) *ent.Mailbox {
	e.t.Helper()
	mb, err := e.db.Client.Mailbox.Query().
		Where(entmbox.AccountID(a.ID), entmbox.Name(name)).Only(adminCtx())
	if err != nil {
		e.t.Fatalf("mailbox %q: %v", name, err)
	}
	return mb
}

// message returns the message of a's mailbox name with uid.
func (e *env) message(a *ent.Account, name string, uid imap.UID) *ent.Message {
	e.t.Helper()
	m, err := e.db.Client.Message.Query().
		Where(message.MailboxID(e.mailbox(a, name).ID), message.UID(uint32(uid))).Only(adminCtx())
	if err != nil {
		e.t.Fatalf("message %s/%d: %v", name, uid, err)
	}
	return m
}

// messageIDs returns the ids of the messages of mailbox name with uids.
func (e *env) messageIDs(a *ent.Account, name string, uids ...imap.UID) []pulid.ID {
	e.t.Helper()
	out := make([]pulid.ID, len(uids))
	for i, u := range uids {
		out[i] = e.message(a, name, u).ID
	}
	return out
}

// uidsOf returns the UIDs stored in a's mailbox name, ascending.
func (e *env) uidsOf(a *ent.Account, name string) []imap.UID {
	e.t.Helper()
	us, err := e.db.Client.Message.Query().Where(message.MailboxID(e.mailbox(a, name).ID)).
		Order(ent.Asc(message.FieldUID)).Select(message.FieldUID).Ints(adminCtx())
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]imap.UID, len(us))
	for i, u := range us {
		out[i] = imap.UID(u)
	}
	return out
}

// deliverN delivers n distinct small messages to a's INBOX.
func (e *env) deliverN(a *ent.Account, n int) {
	e.t.Helper()
	for i := range n {
		e.deliver(a, testMessage(fmt.Sprintf("m%d", i+1), fmt.Sprintf("body %d", i+1)))
	}
}

// selectInbox logs a in and selects INBOX.
func (e *env) selectInbox(a *ent.Account, o *imapclient.Options) *imapclient.Client {
	e.t.Helper()
	c := e.login(a, o)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// imapCode returns the response code of an *imap.Error, or "".
func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// fetchUIDs returns the UIDs of 1:* in c's selected mailbox.
func fetchUIDs(t testing.TB, c *imapclient.Client) []imap.UID {
	t.Helper()
	msgs, err := c.Fetch(allSeqs, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

// allSeqs is the sequence set 1:*.
var allSeqs = imap.SeqSet{{Start: 1, Stop: 0}}

// apiMark marks a message of alice's INBOX seen as the GraphQL API does:
// mail/mailbox with the org's viewer, waking the hub.
func apiMark(t testing.TB, e *env, uid imap.UID) {
	t.Helper()
	seen := true
	_, err := mailbox.Mark(apiCtx(e.alice), e.db.Client, e.hub, e.messageIDs(e.alice, "INBOX", uid),
		mailbox.Flags{Seen: &seen})
	if err != nil {
		t.Fatal(err)
	}
}

// apiDelete deletes messages of alice's INBOX as the GraphQL API does.
func apiDelete(t testing.TB, e *env, uids ...imap.UID) {
	t.Helper()
	if _, err := mailbox.Delete(apiCtx(e.alice), e.db.Client, nil, e.hub,
		e.messageIDs(e.alice, "INBOX", uids...)); err != nil {
		t.Fatal(err)
	}
}
