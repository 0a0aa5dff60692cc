package imap_test

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
	"github.com/lightr-mail/lightr/server/imap"
)

// password is every test account's password.
const password = "correct horse battery staple"

// env is a running IMAP server over a fresh database with the domain
// example.test and the account alice@example.test, and a deliverer that
// stores mail for it the way SMTP does.
type env struct {
	t         testing.TB
	db        *db.DB
	addr      string
	srv       *imap.Server
	hub       *notify.Hub
	deliverer *delivery.Deliverer
	org       *ent.Organization
	domain    *ent.Domain
	alice     *ent.Account
}

// start runs a server with opts changed by tune.
func start(t testing.TB, tune func(*imap.Options)) *env {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	e := &env{t: t, db: d, hub: notify.New()}
	ctx := viewer.AdminContext(context.Background())
	if e.org, err = d.Client.Organization.Create().SetName("acme").Save(ctx); err != nil {
		t.Fatal(err)
	}
	if e.domain, err = directory.CreateDomain(ctx, d.Client, &e.org.ID,
		ent.CreateDomainInput{Name: "example.test"}); err != nil {
		t.Fatal(err)
	}
	e.alice = e.account("alice")

	hub := e.hub
	e.deliverer = delivery.New(d, store.New(), delivery.Options{OnCommit: func(ds []delivery.Delivered) {
		for _, dv := range ds {
			hub.Publish(dv.MailboxID)
		}
	}})
	t.Cleanup(func() { _ = e.deliverer.Close() })

	o := imap.Options{AllowInsecureAuth: true}
	if tune != nil {
		tune(&o)
	}
	e.srv = imap.New(o, d, store.New(), e.hub)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.Serve(ln) }()
	t.Cleanup(func() { _ = e.srv.Close() })
	e.addr = ln.Addr().String()
	return e
}

// account creates local@example.test.
func (e *env) account(local string) *ent.Account {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	a, _, err := directory.CreateAccount(ctx, e.db.Client,
		ent.CreateAccountInput{DomainID: e.domain.ID, LocalPart: local}, password)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// deliver stores raw in a's INBOX as SMTP would.
func (e *env) deliver(a *ent.Account, raw string) {
	e.t.Helper()
	m := &delivery.Message{Raw: []byte(raw), Parsed: message.Parse([]byte(raw), message.Limits{}),
		Recipients: []delivery.Recipient{{Target: directory.Target{
			AccountID: a.ID, DomainID: a.DomainID, OrgID: a.OrganizationID, Address: a.Email}}}}
	if _, _, err := e.deliverer.Deliver(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// login dials the server and logs in as a.
func (e *env) login(a *ent.Account, o *imapclient.Options) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.addr, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(a.Email, password).Wait(); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// testMessage returns a small CRLF message.
func testMessage(subject, body string) string {
	return "From: Bob <bob@sender.example>\r\nTo: alice@example.test\r\nSubject: " + subject + "\r\n" +
		"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + subject + "@sender.example>\r\n" +
		"\r\n" + body + "\r\n"
}

// tlsServer is a second server over e's database with a certificate,
// serving STARTTLS on plain and implicit TLS on secure.
type tlsServer struct {
	plain, secure string // addresses
	client        *tls.Config
}

// startTLS starts a tlsServer; it requires TLS before login.
func (e *env) startTLS(t testing.TB) tlsServer {
	t.Helper()
	srvTLS, clientTLS := testTLS(t, e)
	srv := imap.New(imap.Options{TLS: srvTLS}, e.db, nil, e.hub)
	t.Cleanup(func() { _ = srv.Close() })
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(plain) }()
	go func() { _ = srv.ServeTLS(secure) }()
	return tlsServer{plain: plain.Addr().String(), secure: secure.Addr().String(), client: clientTLS}
}
