package smtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/certs"
	"github.com/lightr-mail/lightr/server/db"
	"github.com/lightr-mail/lightr/server/smtp"
)

// subEnv is a running submission server over a fresh database seeded
// like env (example.test, alice), with STARTTLS on addr and implicit TLS
// on tlsAddr.
type subEnv struct {
	*env
	tlsAddr string
	sub     *smtp.Submission
	wakes   atomic.Int32
}

// password is the password of every account the harness creates.
const password = "secret-password-1"

// startSubmission runs a submission server with opts changed by tune.
func startSubmission(t testing.TB, tune func(*smtp.SubmissionOptions)) *subEnv {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(dir, "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	e := &subEnv{env: &env{t: t, db: d, store: store.New()}}
	e.seed()

	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned(certFile, keyFile, []string{"mx.example.test"}); err != nil {
		t.Fatal(err)
	}
	cs, err := certs.New(d.Client, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	o := smtp.SubmissionOptions{
		Options:          smtp.Options{Hostname: "mx.example.test", TLS: cs.TLSConfig(), ReadTimeout: 10 * time.Second},
		AuthFailureDelay: -1,
	}
	if tune != nil {
		tune(&o)
	}
	keys := &access.Authenticator{Client: d.Client}
	t.Cleanup(keys.Wait)
	e.sub = smtp.NewSubmission(o, smtp.SubmissionBackend{
		Client:    d.Client,
		Store:     e.store,
		Passwords: &access.Passwords{Client: d.Client},
		Keys:      keys,
		Wake:      func() { e.wakes.Add(1) },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.sub.Serve(ln) }()
	go func() { _ = e.sub.ServeTLS(tln) }()
	t.Cleanup(func() { _ = e.sub.Close() })
	e.addr, e.tlsAddr = ln.Addr().String(), tln.Addr().String()
	return e
}

// apiKey mints a key of org with scopes and returns its secret.
func (e *subEnv) apiKey(org pulid.ID, scopes ...string) string {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	k, err := access.CreateAPIKey(ctx, e.db.Client, org, ent.CreateAPIKeyInput{Name: "app", Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	if !auth.LooksLikeAPIKey(k.Secret) {
		e.t.Fatalf("minted key %q does not look like one", k.Secret[:6])
	}
	return k.Secret
}

// alias creates local@example.test delivering to dests.
func (e *subEnv) alias(local string, dests ...string) {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	if _, err := directory.CreateAlias(ctx, e.db.Client, ent.CreateAliasInput{
		DomainID: e.domain.ID, LocalPart: local, Destinations: dests,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// otherOrg creates a second organization with its own domain, name.
func (e *subEnv) otherOrg(name string) (*ent.Organization, *ent.Domain) {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	o, err := e.db.Client.Organization.Create().SetName(name).Save(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := directory.CreateDomain(ctx, e.db.Client, &o.ID, ent.CreateDomainInput{Name: name + ".test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return o, d
}

// outbound returns the queued messages, oldest first, with recipients.
func (e *subEnv) outbound() []*ent.OutboundMessage {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	ms, err := e.db.Client.OutboundMessage.Query().WithRecipients().WithBlob().
		Order(ent.Asc(outboundmessage.FieldCreatedAt)).All(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// recipients returns the addresses m is queued for, sorted.
func recipients(m *ent.OutboundMessage) []string {
	var out []string
	for _, r := range m.Edges.Recipients {
		out = append(out, r.Address)
	}
	sort.Strings(out)
	return out
}

// queuedEvents returns the recipients of m's message.queued events, sorted.
func (e *subEnv) queuedEvents(m *ent.OutboundMessage) []string {
	e.t.Helper()
	ctx := viewer.AdminContext(context.Background())
	evs, err := e.db.Client.Event.Query().
		Where(event.MessageID(m.ID), event.Type(outbox.EventQueued)).All(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Recipient)
	}
	sort.Strings(out)
	return out
}

// rawOf returns the queued bytes of m.
func (e *subEnv) rawOf(m *ent.OutboundMessage) string {
	e.t.Helper()
	b, err := e.store.Load(viewer.AdminContext(context.Background()), e.db.Client, m.Edges.Blob)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// dialTLS connects to the implicit TLS listener.
func (e *subEnv) dialTLS() *conn {
	e.t.Helper()
	raw, err := net.DialTimeout("tcp", e.tlsAddr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
	e.t.Cleanup(func() { _ = raw.Close() })
	tc := tls.Client(raw, &tls.Config{
		ServerName:         "mx.example.test",
		InsecureSkipVerify: true, //nolint:gosec // self-signed test certificate
	})
	return &conn{t: e.t, c: tc, r: bufio.NewReader(tc)}
}

// session dials, says EHLO and starts TLS, ready for AUTH.
func (e *subEnv) session() *conn {
	e.t.Helper()
	c := e.dial()
	c.hello()
	c.startTLS()
	c.send("EHLO client.example.org\r\n")
	c.expect("250 ")
	return c
}

// authPlain sends AUTH PLAIN with an initial response and returns the
// reply.
func (c *conn) authPlain(user, pass string) string {
	c.t.Helper()
	c.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\r\n")
	return c.reply()
}

// submit runs MAIL, RCPTs and DATA after AUTH and returns the first
// reply that is not a success (or the final 250).
func (c *conn) submit(from string, to []string, body string) string {
	c.t.Helper()
	c.send("MAIL FROM:<" + from + ">\r\n")
	if r := c.reply(); r[:3] != "250" {
		return r
	}
	for _, rcpt := range to {
		c.send("RCPT TO:<" + rcpt + ">\r\n")
		if r := c.reply(); r[:3] != "250" {
			return r
		}
	}
	c.send("DATA\r\n")
	if r := c.reply(); r[:3] != "354" {
		return r
	}
	c.send(body + ".\r\n")
	return c.reply()
}
