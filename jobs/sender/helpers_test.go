package sender_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/jobs/sender"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is a database with one organization hosting acme.test (alice,
// bob; a DKIM key), a DNS server on loopback, and a peer SMTP server that
// remote.test's MX points to.
type fixture struct {
	db     *db.DB
	admin  context.Context
	org    *ent.Organization
	domain *ent.Domain
	alice  *ent.Account
	dns    *resolvertest.Server
	peer   *peer
	local  *delivery.Deliverer
	res    *resolver.Resolver
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	auth.PasswordParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	f := &fixture{admin: viewer.AdminContext(context.Background())}
	var err error
	f.db, err = db.Open(f.admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	check(t, err)
	t.Cleanup(func() { _ = f.db.Close() })
	f.org, err = f.db.Organization.Create().SetName("acme").Save(f.admin)
	check(t, err)
	f.domain, err = directory.CreateDomain(f.admin, f.db.Client, &f.org.ID, ent.CreateDomainInput{Name: "acme.test"})
	check(t, err)
	_, err = directory.AddDKIMKey(f.admin, f.db.Client, f.domain, "s1", "rsa", 1024)
	check(t, err)
	for _, u := range []string{"alice", "bob"} {
		a, _, err := directory.CreateAccount(f.admin, f.db.Client,
			ent.CreateAccountInput{LocalPart: u, DomainID: f.domain.ID}, "a long test password")
		check(t, err)
		if u == "alice" {
			f.alice = a
		}
	}
	f.local = delivery.New(f.db, store.New(), delivery.Options{})
	t.Cleanup(func() { _ = f.local.Close() })

	f.peer = startPeer(t)
	f.dns = resolvertest.Start(t)
	f.dns.Add(t, "remote.test. 300 IN MX 10 mx.remote.test.", "mx.remote.test. 300 IN A 127.0.0.1")
	f.res, err = resolver.New(resolver.Options{Server: f.dns.Addr, CacheSize: -1, Timeout: time.Second})
	check(t, err)
	return f
}

// sender returns a Sender with a fast schedule, changed by edit, running
// until the test ends.
func (f *fixture) start(t *testing.T, edit func(*sender.Options)) *sender.Sender {
	s, _ := f.startStop(t, edit)
	return s
}

// startStop is start, also returning a function that stops the Sender
// and waits for it.
func (f *fixture) startStop(t *testing.T, edit func(*sender.Options)) (*sender.Sender, func()) {
	t.Helper()
	remote, err := outbound.New(outbound.Options{
		Resolver: f.res, HeloName: "lightr.test", MXPort: f.peer.port,
		ConnectTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second, DataTimeout: 2 * time.Second,
	})
	check(t, err)
	o := sender.Options{
		Workers:      4,
		PollInterval: 20 * time.Millisecond,
		Lease:        time.Minute,
		Grace:        time.Second,
		Policy: queue.Policy{
			Schedule: queue.Schedule{50 * time.Millisecond},
			Rand:     func() float64 { return 0.5 },
		},
		Remote:   remote,
		Local:    f.local,
		Hostname: "mx.acme.test",
	}
	if edit != nil {
		edit(&o)
	}
	s, err := sender.New(f.db.Client, store.New(), o)
	check(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return s, stop
}

// queue queues raw from mailFrom to rcpts and returns the message's id.
func (f *fixture) queue(
	t *testing.T, s *sender.Sender, mailFrom, raw string, rcpts ...string,
) *ent.OutboundMessage {
	t.Helper()
	ctx := rule.SystemContext(context.Background())
	tx, err := f.db.Tx(ctx)
	check(t, err)
	m, err := outbox.Queue(ctx, tx.Client(), store.New(), &outbox.Message{
		Org: f.org.ID, Domain: f.domain.ID, Account: f.alice.ID,
		MailFrom: mailFrom, Recipients: rcpts, Raw: []byte(raw), Source: outboundmessage.SourceAPI,
	})
	if err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	check(t, tx.Commit())
	if s != nil {
		s.Wake()
	}
	return m
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// received is one message the peer accepted.
type received struct {
	from string
	to   []string
	data []byte
}

// peer is a go-smtp server on loopback whose replies the test scripts:
// rcpt decides each RCPT TO and data each final dot.
type peer struct {
	port int

	mu       sync.Mutex
	rcpt     func(addr string) error
	data     func(n int) error // n counts DATA commands, from 1
	delay    time.Duration     // before answering the final dot
	datas    int
	messages []received
}

func startPeer(t *testing.T) *peer {
	t.Helper()
	p := &peer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &peerSession{p: p}, nil
	}))
	srv.Domain = "mx.remote.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	p.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *peer) script(rcpt func(string) error, data func(int) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rcpt, p.data = rcpt, data
}

func (p *peer) received() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.messages...)
}

type peerSession struct {
	p    *peer
	from string
	to   []string
}

func (s *peerSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.p.mu.Lock()
	f := s.p.rcpt
	s.p.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	s.p.datas++
	n, f, d := s.p.datas, s.p.data, s.p.delay
	s.p.mu.Unlock()
	time.Sleep(d)
	if f != nil {
		if err := f(n); err != nil {
			return err
		}
	}
	s.p.mu.Lock()
	s.p.messages = append(s.p.messages, received{from: s.from, to: s.to, data: bytes.Clone(b)})
	s.p.mu.Unlock()
	return nil
}

func (s *peerSession) Reset()        { s.from, s.to = "", nil }
func (s *peerSession) Logout() error { return nil }

// smtpError is a reply for the peer to give.
func smtpError(code int, enhanced smtp.EnhancedCode, text string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
}

// testMessage is a small message from alice.
func testMessage(subject string) string {
	return "From: alice@acme.test\r\nTo: carol@remote.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@acme.test>\r\n" +
		"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
}
