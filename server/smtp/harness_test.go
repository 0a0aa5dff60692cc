package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/mail/verify"
	"github.com/lightr-mail/lightr/server/certs"
	"github.com/lightr-mail/lightr/server/db"
	"github.com/lightr-mail/lightr/server/smtp"
)

// env is a running SMTP server over a fresh database with one hosted
// domain, example.test, and the account alice@example.test.
type env struct {
	t      testing.TB
	db     *db.DB
	addr   string
	srv    *smtp.Server
	org    *ent.Organization
	domain *ent.Domain
	alice  *ent.Account
	store  *store.Store
}

// start runs a server with opts changed by tune, on 127.0.0.1:0.
func start(t testing.TB, v *verify.Verifier, tune func(*smtp.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(dir, "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	e := &env{t: t, db: d, store: store.New()}
	e.seed()

	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned(certFile, keyFile, []string{"mx.example.test"}); err != nil {
		t.Fatal(err)
	}
	cs, err := certs.New(d.Client, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	o := smtp.Options{Hostname: "mx.example.test", TLS: cs.TLSConfig(), ReadTimeout: 10 * time.Second}
	if tune != nil {
		tune(&o)
	}
	dl := delivery.New(d, e.store, delivery.Options{})
	t.Cleanup(func() { _ = dl.Close() })
	e.srv = smtp.New(o, d.Client, dl, v)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.Serve(ln) }()
	t.Cleanup(func() { _ = e.srv.Close() })
	e.addr = ln.Addr().String()
	return e
}

func (e *env) seed() {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	c := e.db.Client
	var err error
	if e.org, err = c.Organization.Create().SetName("acme").Save(ctx); err != nil {
		e.t.Fatal(err)
	}
	if e.domain, err = directory.CreateDomain(ctx, c, &e.org.ID,
		ent.CreateDomainInput{Name: "example.test"}); err != nil {
		e.t.Fatal(err)
	}
	e.alice = e.account("alice")
}

// account creates local@example.test.
func (e *env) account(local string) *ent.Account {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	a, _, err := directory.CreateAccount(ctx, e.db.Client,
		ent.CreateAccountInput{DomainID: e.domain.ID, LocalPart: local}, "secret-password-1")
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// messages returns the messages stored for account a, oldest first.
func (e *env) messages(a *ent.Account) []*ent.Message {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	ms, err := e.db.Client.Message.Query().
		Where(message.AccountID(a.ID)).WithMailbox().WithBlob().
		Order(ent.Asc(message.FieldInternalDate)).All(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// raw returns the stored bytes of m.
func (e *env) raw(m *ent.Message) string {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	b, err := e.store.Load(ctx, e.db.Client, m.Edges.Blob)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// conn is a raw line-level SMTP client, for what the go-smtp client
// would refuse to send (bare newlines, pipelined batches, BDAT).
type conn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) dial() *conn {
	e.t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	e.t.Cleanup(func() { _ = c.Close() })
	return &conn{t: e.t, c: c, r: bufio.NewReader(c)}
}

// send writes s as is.
func (c *conn) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (c *conn) reply() string {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "EOF: " + err.Error()
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

// expect reads a reply and fails unless it starts with prefix.
func (c *conn) expect(prefix string) string {
	c.t.Helper()
	r := c.reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("reply %q, want %q…", r, prefix)
	}
	return r
}

// hello reads the greeting and says EHLO.
func (c *conn) hello() {
	c.t.Helper()
	c.expect("220 ")
	c.send("EHLO client.example.org\r\n")
	c.expect("250 ")
}

// startTLS upgrades the connection.
func (c *conn) startTLS() {
	c.t.Helper()
	c.send("STARTTLS\r\n")
	c.expect("220 ")
	tc := tls.Client(c.c, &tls.Config{
		ServerName:         "mx.example.test",
		InsecureSkipVerify: true, //nolint:gosec // self-signed test certificate
	})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
}
