package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
)

var durabilitySeed = flag.Uint64("durability.seed", 0,
	"seed of TestDurability_KillUnderLoad; 0 takes one from the clock")

// The shape of the durability test: rounds of load, each ended by SIGKILL.
const (
	durabilityRounds  = 8
	durabilityClients = 8
	// durabilityBudget stops starting new rounds once the test has run
	// this long, so that a slow machine still finishes in bounded time.
	durabilityBudget = 30 * time.Second
)

// outcome is what an SMTP client learned about one message.
type outcome int

const (
	// notSent: the server never answered 354 to DATA, so it cannot have
	// the message.
	notSent outcome = iota
	// rejected: the server answered the data with an error reply, which
	// promises that nothing was stored.
	rejected
	// inDoubt: the connection died after the data went out and before a
	// reply; the message may or may not be stored.
	inDoubt
	// acked: the server answered 250 to the data; it must be stored.
	acked
)

func (o outcome) String() string {
	return [...]string{"not sent", "rejected", "in doubt", "acknowledged"}[o]
}

// sentMsg is one message a load client tried to send.
type sentMsg struct {
	id    string   // Message-ID, without angle brackets; also in the subject
	rcpts []string // envelope recipients
	state outcome
	reply string // the error reply, when rejected
}

// TestDurability_KillUnderLoad runs the real binary under concurrent SMTP
// load, kills it with SIGKILL at random moments and restarts it; at the
// end every message that got a 250 must be in its recipients' INBOX
// exactly once, with consistent UIDs and quota, in an intact database.
func TestDurability_KillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test skipped in -short mode")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for this test (apt-get install curl)")
	}
	seed := *durabilitySeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -args -durability.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6c6967687472))

	// A loopback DNS server with no records: SPF and DMARC find nothing
	// quickly, and no query leaves the machine.
	dns := resolvertest.Start(t)
	c := newCLI(t)
	env := []string{"LIGHTR_HTTP_ADDR=127.0.0.1:0", "LIGHTR_DNS_RESOLVER=" + dns.Addr}
	org, rcpts := durabilitySetup(c)

	start := time.Now()
	var ledger []*sentMsg
	rounds := 0
	for rounds < durabilityRounds && time.Since(start) < durabilityBudget {
		srv := startServer(t, c, env)
		ledger = append(ledger, runRound(t, srv, rng, rounds, rcpts, syscall.SIGKILL)...)
		rounds++
	}
	// The same load stopped cleanly: what got a 250 is stored, and the
	// server exits 0.
	srv := startServer(t, c, env)
	ledger = append(ledger, runRound(t, srv, rng, rounds, rcpts, syscall.SIGTERM)...)

	// A quiet run after all that: the server still takes mail, the API
	// finds it, and the server stops cleanly.
	srv = startServer(t, c, env)
	ledger = append(ledger, sendOne(t, srv.smtpAddr, rounds+1, rcpts))
	api := apiCheck(t, srv.httpAddr, c.ok("", "token", "--org", org), ledger)
	srv.stop(t, os.Interrupt)

	stored := checkDatabase(t, filepath.Join(c.dir, "data", "lightr.db"), rcpts, ledger)
	if api != stored.copies {
		t.Errorf("GraphQL counts %d messages, the database %d", api, stored.copies)
	}
	n := tally(ledger)
	t.Logf("%d SIGKILL rounds and 1 SIGTERM in %v: %d messages sent (354), "+
		"%d acknowledged, %d in doubt (%d of them stored), %d not sent, %d rejected; "+
		"%d stored, %d copies",
		rounds, time.Since(start).Round(time.Millisecond), n[acked]+n[inDoubt]+n[rejected],
		n[acked], n[inDoubt], stored.inDoubt, n[notSent], n[rejected], stored.messages,
		stored.copies)
	if n[acked] == 0 {
		t.Error("no message was acknowledged: the test tested nothing")
	}
}

// durabilitySetup creates the data directory, an organization, a domain
// and two accounts, and returns the organization and the addresses.
func durabilitySetup(c *cli) (org string, rcpts []string) {
	c.t.Helper()
	c.ok("", "init")
	org = c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	rcpts = []string{"alice@acme.test", "bob@acme.test"}
	for _, a := range rcpts {
		c.ok("", "add-account", "--domain", "acme.test", "--email", a)
	}
	return org, rcpts
}

// tally counts the messages of ledger by outcome.
func tally(ledger []*sentMsg) map[outcome]int {
	n := map[outcome]int{}
	for _, m := range ledger {
		n[m.state]++
	}
	return n
}

// runRound loads srv with concurrent clients, sends it sig (SIGKILL, or
// SIGTERM for a clean stop) at a random moment while at least one client
// waits for the reply to its data, and returns what the clients learned.
func runRound(t *testing.T, srv *server, rng *rand.Rand, round int,
	rcpts []string, sig syscall.Signal) []*sentMsg {
	t.Helper()
	var inflight atomic.Int32
	stop := make(chan struct{})
	clients := make([]*loadClient, durabilityClients)
	var wg sync.WaitGroup
	for i := range clients {
		lc := &loadClient{
			addr: srv.smtpAddr, rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
			prefix: fmt.Sprintf("r%d.c%d", round, i), rcpts: rcpts, inflight: &inflight,
		}
		clients[i] = lc
		wg.Go(func() { lc.run(stop) })
	}

	// Let the load run for a while, then wait (a little) for a moment when
	// a message is between its final dot and its reply.
	time.Sleep(50*time.Millisecond + time.Duration(rng.IntN(1950))*time.Millisecond)
	for deadline := time.Now().Add(time.Second); inflight.Load() == 0 &&
		time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	atSignal := inflight.Load()
	if sig == syscall.SIGKILL {
		srv.kill(t)
	} else {
		srv.stop(t, sig) // the clients run on until the server is gone
	}
	close(stop)
	wg.Wait()

	var out []*sentMsg
	for _, lc := range clients {
		out = append(out, lc.sent...)
	}
	n := tally(out)
	t.Logf("round %d: %d in flight at %s; %d acknowledged, %d in doubt, %d not sent",
		round, atSignal, signalName(sig), n[acked], n[inDoubt], n[notSent])
	if sig != syscall.SIGKILL && n[inDoubt] > 0 {
		// Shutdown lets open sessions finish: it must not cut one short.
		t.Errorf("%d connections broke mid-transaction during a clean stop", n[inDoubt])
	}
	return out
}

// signalName returns the conventional name of sig.
func signalName(sig syscall.Signal) string {
	if sig == syscall.SIGKILL {
		return "SIGKILL"
	}
	return "SIGTERM"
}

// sendOne sends a single message to a running server and fails the test
// unless it is acknowledged.
func sendOne(t *testing.T, addr string, round int, rcpts []string) *sentMsg {
	t.Helper()
	var inflight atomic.Int32
	lc := &loadClient{addr: addr, rng: rand.New(rand.NewPCG(1, 2)),
		prefix: fmt.Sprintf("r%d.final", round), rcpts: rcpts, inflight: &inflight}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := lc.send(c, conn)
	if m.state != acked {
		t.Fatalf("after the restarts, a message was %v (%s)", m.state, m.reply)
	}
	_ = c.Quit()
	return m
}

// loadClient sends messages over successive SMTP connections until the
// server goes away or stop is closed.
type loadClient struct {
	addr     string
	rng      *rand.Rand
	prefix   string // makes Message-IDs unique across clients and rounds
	rcpts    []string
	inflight *atomic.Int32 // messages between their final dot and the reply
	sent     []*sentMsg
}

// run opens connections and sends one to four messages on each; it
// returns when a connection cannot be made or broke, or stop is closed.
func (lc *loadClient) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := net.DialTimeout("tcp", lc.addr, 2*time.Second)
		if err != nil {
			return // the server is gone
		}
		if !lc.session(conn, stop) {
			return
		}
	}
}

// session sends messages on conn and reports whether the connection
// ended normally.
func (lc *loadClient) session(conn net.Conn, stop <-chan struct{}) bool {
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		return false
	}
	if err := c.Hello("client.test"); err != nil {
		return false
	}
	for range 1 + lc.rng.IntN(4) {
		m, broken := lc.send(c, conn)
		lc.sent = append(lc.sent, m)
		if broken {
			return false
		}
		select {
		case <-stop:
			return false
		default:
		}
	}
	return c.Quit() == nil
}

// send sends one message on c and records what the server answered;
// broken reports that the connection failed.
func (lc *loadClient) send(c *smtp.Client, conn net.Conn) (m *sentMsg, broken bool) {
	m = &sentMsg{id: fmt.Sprintf("%s.m%d@client.test", lc.prefix, len(lc.sent))}
	m.rcpts = lc.rcpts[:1+lc.rng.IntN(len(lc.rcpts))]
	if lc.rng.IntN(3) == 0 {
		m.rcpts = lc.rcpts[len(lc.rcpts)-1:] // sometimes only the last
	}
	body := composeMessage(lc.rng, m)

	// Before 354 nothing can be stored, whatever the failure.
	err := c.Mail("sender@sender.test")
	for _, r := range m.rcpts {
		if err == nil {
			err = c.Rcpt(r)
		}
	}
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	if err == nil {
		w, err = c.Data()
	}
	if err != nil {
		if !isReply(err) {
			return m, true
		}
		m.reply = err.Error()
		return m, c.Reset() != nil
	}

	lc.inflight.Add(1)
	defer lc.inflight.Add(-1)
	_, err = w.Write(body)
	if err == nil {
		err = w.Close() // the final dot, then the reply
	}
	switch {
	case err == nil:
		m.state = acked
	case isReply(err):
		m.state, m.reply = rejected, err.Error()
		_ = c.Reset()
	default:
		m.state = inDoubt
	}
	return m, m.state == inDoubt
}

// isReply reports whether err is an SMTP reply rather than a broken
// connection.
func isReply(err error) bool {
	var pe *textproto.Error
	return errors.As(err, &pe)
}

// composeMessage returns a message for m whose size varies from a few
// hundred bytes to about 150 KB, ending in a line that names it.
func composeMessage(rng *rand.Rand, m *sentMsg) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Sender <sender@sender.test>\r\nTo: %s\r\n", strings.Join(m.rcpts, ", "))
	fmt.Fprintf(&b, "Subject: durability %s\r\nMessage-ID: <%s>\r\n", m.id, m.id)
	fmt.Fprintf(&b, "Date: %s\r\nMIME-Version: 1.0\r\n", time.Now().Format(time.RFC1123Z))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	lines := 2 + rng.IntN(300)
	if rng.IntN(20) == 0 {
		lines = 2000
	}
	const letters = "abcdefghijklmnopqrstuvwxyz     ."
	line := make([]byte, 72)
	for range lines {
		for i := range line {
			line[i] = letters[rng.IntN(len(letters))]
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "end of %s\r\n", m.id)
	return []byte(b.String())
}

// server is a `lightr serve` process that the test may kill.
type server struct {
	cmd                *exec.Cmd
	httpAddr, smtpAddr string
	exited             chan struct{} // closed once the process was reaped
	err                error         // what Wait returned, once exited
	mu                 sync.Mutex
	logs               []string // stderr, kept for failure reports
}

// startServer starts `lightr serve` in c's directory with the extra
// environment, and returns once both listeners are up. The process never
// outlives the test.
func startServer(t *testing.T, c *cli, extraEnv []string) *server {
	t.Helper()
	s := &server{exited: make(chan struct{})}
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Dir, s.cmd.Env = c.dir, append(slices.Clone(c.env), extraEnv...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})

	ready := make(chan struct{})
	go s.read(stderr, ready)
	select {
	case <-ready:
		return s
	case <-s.exited:
	case <-time.After(20 * time.Second):
	}
	t.Fatalf("serve did not start: %v\n%s", s.err, s.stderr())
	return nil
}

var (
	httpListening = regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	smtpListening = regexp.MustCompile(`msg="smtp listening" addr=(\S+)`)
)

// read keeps stderr's lines, closes ready once both listen addresses are
// known, and reaps the process when stderr ends.
func (s *server) read(stderr interface{ Read([]byte) (int, error) }, ready chan struct{}) {
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		s.mu.Lock()
		s.logs = append(s.logs, lines.Text())
		if m := smtpListening.FindStringSubmatch(lines.Text()); m != nil {
			s.smtpAddr = m[1]
		}
		if m := httpListening.FindStringSubmatch(lines.Text()); m != nil {
			s.httpAddr = m[1]
		}
		up := s.smtpAddr != "" && s.httpAddr != "" && ready != nil
		s.mu.Unlock()
		if up {
			close(ready)
			ready = nil
		}
	}
	s.err = s.cmd.Wait()
	close(s.exited)
}

// stderr returns what the server wrote to stderr so far.
func (s *server) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// kill sends SIGKILL and waits until the process is gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("serve still runs 10s after SIGKILL")
	}
}

// stop sends sig (SIGINT or SIGTERM) and fails the test unless the
// server exits 0 within 15 seconds.
func (s *server) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
		if s.err != nil {
			t.Errorf("serve did not stop cleanly on %v: %v\n%s", sig, s.err, s.stderr())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("serve did not stop within 15s of %v", sig)
	}
}
