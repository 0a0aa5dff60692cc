package outbound_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
	"github.com/lightr-mail/lightr/server/certs"
)

// testMessage has CRLF line endings, a line that needs dot-stuffing and no
// final CRLF-terminated blank line trickery, so that byte-for-byte
// comparisons catch any rewriting.
var testMessage = []byte("From: a@sender.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\n" +
	"Hello.\r\n.leading dot\r\n..two dots\r\nend\r\n")

// env is a test's DNS server and the resolver that asks it.
type env struct {
	dns *resolvertest.Server
	res *resolver.Resolver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := resolvertest.Start(t)
	r, err := resolver.New(resolver.Options{Server: srv.Addr, CacheSize: -1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &env{dns: srv, res: r}
}

// mx publishes domain's MX records, each host with one A record.
func (e *env) mx(t *testing.T, domain string, hosts map[string]string, prefs map[string]int) {
	t.Helper()
	for host, ip := range hosts {
		e.dns.Add(t, domain+". 300 IN MX "+strconv.Itoa(prefs[host])+" "+host+".",
			host+". 300 IN A "+ip)
	}
}

// client returns a Client on the env's resolver with short timeouts,
// changed by edit.
func (e *env) client(t *testing.T, port int, edit func(*outbound.Options)) *outbound.Client {
	t.Helper()
	o := outbound.Options{
		Resolver:       e.res,
		HeloName:       "client.test",
		MXPort:         port,
		ConnectTimeout: 2 * time.Second,
		CommandTimeout: 2 * time.Second,
		DataTimeout:    2 * time.Second,
	}
	if edit != nil {
		edit(&o)
	}
	c, err := outbound.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deliver calls Deliver with a bounded context and fails on an error.
func deliver(t *testing.T, c *outbound.Client, domain string, rcpts ...string) *outbound.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Deliver(ctx, domain, "a@sender.test", rcpts, testMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recipients) != len(rcpts) {
		t.Fatalf("%d results for %d recipients", len(res.Recipients), len(rcpts))
	}
	return res
}

// want is the expected outcome for one recipient.
type want struct {
	status   outbound.Status
	code     int
	enhanced string
}

// check compares a recipient's outcome with w.
func check(t *testing.T, r outbound.RecipientResult, w want) {
	t.Helper()
	if r.Status != w.status || r.Code != w.code || r.EnhancedCode != w.enhanced {
		t.Errorf("%s: %s %d %s (%q), want %s %d %s", r.Address, r.Status, r.Code,
			r.EnhancedCode, r.Response, w.status, w.code, w.enhanced)
	}
}

// received is a message as a test server got it.
type received struct {
	from  string
	rcpts []string
	data  []byte
	tls   bool
	helo  string
	utf8  bool
}

// backend is a go-smtp backend that records messages and fails on demand.
type backend struct {
	mu       sync.Mutex
	rcptErr  map[string]*smtp.SMTPError
	dataErr  *smtp.SMTPError
	dataHang chan struct{} // when set, Data waits for it to close
	got      []received
	sessions int
	conns    []*smtp.Conn
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	return &session{b: b, c: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

func (b *backend) sessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions
}

type session struct {
	b   *backend
	c   *smtp.Conn
	msg received
}

func (s *session) Reset()        { s.msg = received{} }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.msg = received{from: from, helo: s.c.Hostname(), utf8: opts != nil && opts.UTF8}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	err := s.b.rcptErr[to]
	s.b.mu.Unlock()
	if err != nil {
		return err
	}
	s.msg.rcpts = append(s.msg.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataHang != nil {
		<-s.b.dataHang
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	_, s.msg.tls = s.c.TLSConnectionState()
	s.msg.data = data
	s.b.mu.Lock()
	s.b.got = append(s.b.got, s.msg)
	s.b.mu.Unlock()
	return nil
}

// startSMTP runs a go-smtp server for b on ip:port (port 0 for a free one)
// and returns its port.
func startSMTP(t *testing.T, b *backend, ip string, port int, cfg *tls.Config) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(b)
	s.Domain = "mx.test"
	s.TLSConfig = cfg
	s.EnableSMTPUTF8 = true
	s.ReadTimeout = 5 * time.Second
	s.WriteTimeout = 5 * time.Second
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// startRaw runs a server on ip:port that writes greeting (nothing when it
// is empty, to hang the client) and closes the connection after a second.
func startRaw(t *testing.T, ip string, port int, greeting string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_, _ = io.WriteString(c, greeting)
				_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a self-signed certificate for hosts into a temporary
// directory and returns the file names, the certificate for servers and a
// pool that trusts it.
func selfSigned(t *testing.T, hosts ...string) (certFile, keyFile string, cert tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := certs.GenerateSelfSigned(certFile, keyFile, hosts); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	if blk, _ := pem.Decode(pemBytes); blk == nil || !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cannot read the generated certificate")
	}
	return certFile, keyFile, cert, pool
}

// sameBytes fails unless got is want.
func sameBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("message changed in transit:\ngot  %q\nwant %q", got, want)
	}
}
