package outbound_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/mail/outbound"
)

// python is the interpreter with Debian's python3-aiosmtpd. The tests fail
// rather than skip without it: .ci/run installs it.
const python = "/usr/bin/python3"

// aioMessage is a message as testdata/smtpd.py saved it.
type aioMessage struct {
	MailFrom    string   `json:"mail_from"`
	MailOptions []string `json:"mail_options"`
	RcptTos     []string `json:"rcpt_tos"`
	Content     string   `json:"content"`
	TLS         bool     `json:"tls"`
	Helo        string   `json:"helo"`
	Login       string   `json:"login"`
}

// aiosmtpd is a running testdata/smtpd.py.
type aiosmtpd struct {
	port int
	dir  string
}

// startAiosmtpd runs testdata/smtpd.py with args and stops it when the test
// ends.
func startAiosmtpd(t *testing.T, args ...string) *aiosmtpd {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is required (apt-get install python3-aiosmtpd): %v", python, err)
	}
	s := &aiosmtpd{dir: t.TempDir()}
	cmd := exec.Command(python, append([]string{"testdata/smtpd.py", s.dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if s.port, err = strconv.Atoi(l); err != nil {
			t.Fatalf("smtpd.py did not start (is python3-aiosmtpd installed?): %q\n%s", l, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("smtpd.py did not start in time\n%s", stderr.String())
	}
	return s
}

// messages returns what the server saved, in order.
func (s *aiosmtpd) messages(t *testing.T) []aioMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var msgs []aioMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m aioMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// only returns the one message saved, with its content decoded.
func (s *aiosmtpd) only(t *testing.T) (aioMessage, []byte) {
	t.Helper()
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("aiosmtpd saved %d messages, want 1", len(msgs))
	}
	content, err := base64.StdEncoding.DecodeString(msgs[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	return msgs[0], content
}

func TestAiosmtpd_Cleartext(t *testing.T) {
	srv := startAiosmtpd(t)
	e := newEnv(t)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	res := deliver(t, e.client(t, srv.port, nil), "example.test", "one@example.test", "two@example.test")
	for _, r := range res.Recipients {
		check(t, r, want{outbound.StatusDelivered, 250, "2.0.0"})
		if r.TLS || r.RemoteMX != "mx.example.test" || !strings.HasPrefix(r.Response, "Ok: queued") {
			t.Errorf("%s: TLS %v, remote MX %q, response %q", r.Address, r.TLS, r.RemoteMX, r.Response)
		}
	}

	m, content := srv.only(t)
	sameBytes(t, content, testMessage)
	if m.MailFrom != "a@sender.test" || !slices.Equal(m.RcptTos, []string{"one@example.test", "two@example.test"}) ||
		m.TLS || m.Helo != "client.test" {
		t.Errorf("envelope %+v", m)
	}
}

func TestAiosmtpd_STARTTLS(t *testing.T) {
	certFile, keyFile, _, pool := selfSigned(t, "mx.example.test")
	srv := startAiosmtpd(t, "--tls", certFile, keyFile)

	for _, tc := range []struct {
		name     string
		edit     func(*outbound.Options)
		verified bool
	}{
		{"opportunistic", nil, false},
		{"verified", func(o *outbound.Options) { o.TLS, o.RootCAs = outbound.TLSRequireVerified, pool }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
			res := deliver(t, e.client(t, srv.port, tc.edit), "example.test", "one@example.test")
			r := res.Recipients[0]
			check(t, r, want{outbound.StatusDelivered, 250, "2.0.0"})
			if !r.TLS || !strings.HasPrefix(r.TLSVersion, "TLS 1.") || res.TLS.Verified != tc.verified {
				t.Errorf("TLS %v %q verified %v (%s), want TLS, verified %v",
					r.TLS, r.TLSVersion, res.TLS.Verified, res.TLS.VerifyError, tc.verified)
			}
		})
	}

	msgs := srv.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("aiosmtpd saved %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		content, _ := base64.StdEncoding.DecodeString(m.Content)
		sameBytes(t, content, testMessage)
		if !m.TLS || m.Helo != "client.test" {
			t.Errorf("saved %+v, want TLS after EHLO client.test", m)
		}
	}
}

func TestAiosmtpd_SmarthostAuth(t *testing.T) {
	certFile, keyFile, _, pool := selfSigned(t, "relay.test", "127.0.0.1")
	srv := startAiosmtpd(t, "--tls", certFile, keyFile, "--auth", "relayuser:relay pass")
	e := newEnv(t)
	sh := &outbound.Smarthost{Host: "127.0.0.1", Port: srv.port, Username: "relayuser", Password: "relay pass"}
	c := e.client(t, 25, func(o *outbound.Options) { o.Smarthost, o.RootCAs = sh, pool })

	res := deliver(t, c, "far.test", "x@far.test")
	r := res.Recipients[0]
	check(t, r, want{outbound.StatusDelivered, 250, "2.0.0"})
	if !r.TLS || !res.TLS.Verified || r.RemoteMX != "127.0.0.1" {
		t.Errorf("TLS %v verified %v remote %q", r.TLS, res.TLS.Verified, r.RemoteMX)
	}
	m, content := srv.only(t)
	sameBytes(t, content, testMessage)
	if m.Login != "relayuser" || !m.TLS {
		t.Errorf("saved %+v, want a login as relayuser over TLS", m)
	}

	// A wrong password defers: it is the operator's to fix.
	sh.Password = "wrong"
	c = e.client(t, 25, func(o *outbound.Options) { o.Smarthost, o.RootCAs = sh, pool })
	res = deliver(t, c, "far.test", "x@far.test")
	if r := res.Recipients[0]; r.Status != outbound.StatusDeferred || r.Code != 535 {
		t.Errorf("wrong password: %s %d %q", r.Status, r.Code, r.Response)
	}
}

func TestAiosmtpd_SMTPUTF8(t *testing.T) {
	srv := startAiosmtpd(t)
	e := newEnv(t)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
	res := deliver(t, e.client(t, srv.port, nil), "example.test", "jörg@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	m, _ := srv.only(t)
	if !slices.Contains(m.MailOptions, "SMTPUTF8") || !slices.Equal(m.RcptTos, []string{"jörg@example.test"}) {
		t.Errorf("saved %+v, want SMTPUTF8", m)
	}
}
