package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// wsClientDir is testdata/wsclient installed with npm ci, once per test
// binary, in the directory TestMain removes at the end.
var wsClientDir = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(filepath.Dir(binary), "wsclient")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"package.json", "package-lock.json", "subscribe.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "wsclient", name))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &npmError{err: err, out: string(out)}
	}
	return dir, nil
})

// npmError is a failed npm ci, with its output.
type npmError struct {
	err error
	out string
}

func (e *npmError) Error() string { return "npm ci: " + e.err.Error() + "\n" + e.out }

// wsEvent is one line subscribe.mjs printed: an Event of events.graphql.
type wsEvent struct {
	Cursor    string         `json:"cursor"`
	Type      string         `json:"type"`
	MessageID string         `json:"messageId"`
	Recipient string         `json:"recipient"`
	Payload   map[string]any `json:"payload"`
}

// String is the event as the failure messages show it.
func (e wsEvent) String() string {
	return e.Cursor + ":" + e.Type + "(" + e.Recipient + ")"
}

// seq is the event's position in the log; its cursor is the decimal form.
func (e wsEvent) seq(t *testing.T) int64 {
	t.Helper()
	n, err := strconv.ParseInt(e.Cursor, 10, 64)
	if err != nil {
		t.Fatalf("cursor %q: %v", e.Cursor, err)
	}
	return n
}

// subscriber is a running testdata/wsclient/subscribe.mjs.
type subscriber struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan wsEvent // closed at the end of stdout
	stderr *lockedBuffer
	exited chan struct{}
	got    []wsEvent // what next returned and stop drained, in order
}

// lockedBuffer is the stderr of a subscriber, written by exec's copier
// and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// subscribe starts subscribe.mjs against the HTTP address addr with
// token, args being its flags (--after, --legacy), and returns once the
// server acknowledged connection_init.
func subscribe(t *testing.T, name, addr, token string, args ...string) *subscriber {
	t.Helper()
	dir, err := wsClientDir()
	if err != nil {
		t.Fatal(err)
	}
	s := &subscriber{name: name, lines: make(chan wsEvent, 1000), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	args = append([]string{filepath.Join(dir, "subscribe.mjs"), addr, "--timeout", "180"}, args...)
	s.cmd = exec.Command("node", args...)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LIGHTR_TOKEN=" + token}
	s.cmd.Stderr = s.stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.read(t, stdout)
	t.Cleanup(func() {
		_ = s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(s.stderr.String(), "connected\n") {
		if strings.Contains(s.stderr.String(), "error: ") || time.Now().After(deadline) {
			t.Fatalf("%s did not connect: %s", name, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// read decodes stdout into s.lines, then waits for the process; it must
// read to the end before Wait, which closes the pipe.
func (s *subscriber) read(t *testing.T, stdout io.Reader) {
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for lines.Scan() {
		var e wsEvent
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Errorf("%s printed %q: %v", s.name, lines.Text(), err)
			continue
		}
		s.lines <- e
	}
	close(s.lines)
	_ = s.cmd.Wait()
	close(s.exited)
}

// next returns the next event, failing the test after d.
func (s *subscriber) next(t *testing.T, d time.Duration) wsEvent {
	t.Helper()
	select {
	case e, ok := <-s.lines:
		if !ok {
			t.Fatalf("%s ended after %v: %s", s.name, s.got, s.stderr.String())
		}
		s.got = append(s.got, e)
		return e
	case <-time.After(d):
		t.Fatalf("%s: no event within %s after %v: %s", s.name, d, s.got, s.stderr.String())
		return wsEvent{}
	}
}

// waitFor reads events until one of type typ about rcpt, and returns it.
func (s *subscriber) waitFor(t *testing.T, typ, rcpt string, d time.Duration) wsEvent {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if e := s.next(t, time.Until(deadline)); e.Type == typ && e.Recipient == rcpt {
			return e
		}
	}
}

// stop closes the subscriber's stdin, which ends it, and adds what it
// printed before exiting to s.got; it must have exited 0.
func (s *subscriber) stop(t *testing.T) {
	t.Helper()
	_ = s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatalf("%s did not exit within 10s of its stdin closing", s.name)
	}
	for e := range s.lines {
		s.got = append(s.got, e)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exited %d: %s", s.name, code, s.stderr.String())
	}
}

// logEvents returns the events of the organization of domain with a seq
// above after, in log order, read from the database: what its subscriber
// must have got.
func logEvents(t *testing.T, c *cli, domain string, after int64) []wsEvent {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.dir, "data", "lightr.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`SELECT seq, type, COALESCE(message_id, ''), COALESCE(recipient, '')
		FROM events WHERE seq > ? AND organization_id = (SELECT organization_id FROM domains WHERE name = ?)
		ORDER BY seq`, after, domain)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []wsEvent
	for rows.Next() {
		var e wsEvent
		var seq int64
		if err := rows.Scan(&seq, &e.Type, &e.MessageID, &e.Recipient); err != nil {
			t.Fatal(err)
		}
		e.Cursor = strconv.FormatInt(seq, 10)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameEvents fails unless got and want list the same events in the same
// order (payloads aside).
func sameEvents(t *testing.T, name string, got, want []wsEvent) {
	t.Helper()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		g, w := got[i], want[i]
		same = g.Cursor == w.Cursor && g.Type == w.Type && g.MessageID == w.MessageID && g.Recipient == w.Recipient
	}
	if !same {
		t.Errorf("%s got\n%v\nwant the log's\n%v", name, got, want)
	}
}

// TestSubscriptions_GraphQLWS is issue 6's "done when", driven by real npm
// clients: graphql-ws (graphql-transport-ws) and Apollo's
// subscriptions-transport-ws (the legacy graphql-ws). With acme.test's
// token each receives, in log order, an inbound message from swaks, a
// sendEmail delivered to the loopback peer, a sendEmail the peer refuses
// (bounced, and the DSN Lightr queues to alice), and the open and the
// click of a tracked message fetched with curl; other.test's subscribers
// receive none of it. Stopped and resubscribed with after: its last
// cursor, each gets exactly what it missed, then the live events again.
func TestSubscriptions_GraphQLWS(t *testing.T) {
	needTools(t, "node", "npm", "swaks")
	if _, err := wsClientDir(); err != nil {
		t.Fatal(err)
	}
	e := newOutboundEnv(t, []string{"--reject-prefix", "nobody@"}, false)
	e.dns.AddTXT("sender.test.", 300, "v=spf1 ip4:127.0.0.1 -all")
	e.c.env = append(e.c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0", "LIGHTR_TRACKING_BASE_URL=http://track.acme.test")
	other := e.c.ok("", "add-org", "--name", "Other")
	e.c.ok("", "add-domain", "--org", other, "--name", "other.test")
	e.c.ok("", "add-account", "--domain", "other.test", "--email", "bob@other.test")
	otherToken := e.c.ok("", "token", "--org", other)
	e.http = e.c.serve(nil)

	// From the start of the log (after: "0"), so that an event committed
	// while a subscription is still being set up is not a race.
	protocols := map[string][]string{"graphql-transport-ws": nil, "graphql-ws": {"--legacy"}}
	var acme, others []*subscriber
	for proto, flags := range protocols {
		args := slices.Concat(flags, []string{"--after", "0"})
		acme = append(acme, subscribe(t, "acme "+proto, e.http, e.token, args...))
		others = append(others, subscribe(t, "other "+proto, e.http, otherToken, args...))
	}

	ids := sendAll(t, e, acme)
	log := logEvents(t, e.c, "acme.test", 0)
	for _, s := range acme {
		s.checkOrder(t, ids, log)
	}
	t.Logf("acme.test's log: %v", log)

	// Each acme subscriber stops at its last cursor; meanwhile alice gets
	// a message, carol one more sendEmail, and bob (other.test) one.
	last := make([]int64, len(acme))
	for i, s := range acme {
		s.stop(t)
		last[i] = s.got[len(s.got)-1].seq(t)
	}
	inbound(t, e.c, "alice@acme.test", "While away")
	missed := e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Missed", text: "x"}`)
	e.waitEvents(t, missed, "carol@remote.test", "message.delivered", 20*time.Second)
	inbound(t, e.c, "bob@other.test", "For bob")

	// Resubscribed, each gets exactly the events after its cursor: the
	// missed ones, none before and none of other.test's; then live ones.
	for i, s := range acme {
		want := logEvents(t, e.c, "acme.test", last[i])
		if len(want) < 3 {
			t.Fatalf("the log has %v after %d, want the received, queued and delivered events", want, last[i])
		}
		proto := strings.TrimPrefix(s.name, "acme ")
		args := slices.Concat(protocols[proto], []string{"--after", strconv.FormatInt(last[i], 10)})
		r := subscribe(t, s.name+" again", e.http, e.token, args...)
		r.readUntil(t, want[len(want)-1].Cursor)
		acme[i] = r
	}
	inbound(t, e.c, "alice@acme.test", "Back")
	for i, s := range acme {
		s.waitFor(t, "message.received", "alice@acme.test", 20*time.Second)
		s.stop(t)
		sameEvents(t, s.name, s.got, logEvents(t, e.c, "acme.test", last[i]))
	}

	// other.test's subscribers got bob's message, and nothing before it.
	for _, s := range others {
		s.waitFor(t, "message.received", "bob@other.test", 20*time.Second)
		s.stop(t)
		if len(s.got) != 1 {
			t.Errorf("%s got %v, want only bob's message", s.name, s.got)
		}
		sameEvents(t, s.name, s.got, logEvents(t, e.c, "other.test", 0))
	}
}

// sentIDs are the outbound messages of sendAll.
type sentIDs struct {
	delivered, bounced, tracked string
}

// sendAll causes acme.test's events one after the other, each once every
// subscriber has seen the one before: an inbound message, a delivery, a
// bounce, and a tracked message's delivery, open and click. It returns
// once the subscribers have all of the organization's log.
func sendAll(t *testing.T, e *outboundEnv, subs []*subscriber) sentIDs {
	t.Helper()
	const d = 20 * time.Second
	waitAll := func(typ, rcpt string) {
		t.Helper()
		for _, s := range subs {
			s.waitFor(t, typ, rcpt, d)
		}
	}
	var ids sentIDs

	inbound(t, e.c, "alice@acme.test", "Hello alice")
	waitAll("message.received", "alice@acme.test")

	ids.delivered = e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Hi", text: "x"}`)
	waitAll("message.delivered", "carol@remote.test")

	ids.bounced = e.sendEmail(t, `{from: "alice@acme.test", to: ["nobody@remote.test"], subject: "Lost", text: "x"}`)
	waitAll("message.bounced", "nobody@remote.test")

	// The open and click links are in the HTML the peer received.
	const html = `<html><body><p>Read <a href=\"https://example.com/post\">the post</a>.</p></body></html>`
	ids.tracked = e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Tracked",
		text: "x", html: "`+html+`", trackOpens: true, trackClicks: true}`)
	waitAll("message.delivered", "carol@remote.test")
	var open, click string
	for _, m := range e.peer.wait(t, 2, d) {
		if subjectOf(m.raw) != "Tracked" {
			continue
		}
		for _, l := range trackedLink.FindAllStringSubmatch(htmlOf(t, m.raw), -1) {
			if strings.HasPrefix(l[1], "/t/o/") {
				open = l[1]
			} else {
				click = l[1]
			}
		}
	}
	if open == "" || click == "" {
		t.Fatal("the tracked message has no pixel or tracked link")
	}
	if status, _ := curlStatus(t, e.http, open); status != "200" {
		t.Fatalf("pixel: %q", status)
	}
	waitAll("message.opened", "carol@remote.test")
	if status, _ := curlStatus(t, e.http, click); status != "302 https://example.com/post" {
		t.Fatalf("click: %q", status)
	}
	waitAll("message.clicked", "carol@remote.test")

	// The DSN's own events may still be on their way.
	log := logEvents(t, e.c, "acme.test", 0)
	for _, s := range subs {
		s.readUntil(t, log[len(log)-1].Cursor)
	}
	return ids
}

// checkOrder checks that s got log, acme.test's whole log, in order, and
// in it the events sendAll caused. The DSN of the bounce adds events of
// its own (queued to alice, then delivered to her INBOX, which also
// receives it), whose place among the others is the sender's business:
// the check asks only that they come after the bounce's queued event.
func (s *subscriber) checkOrder(t *testing.T, ids sentIDs, log []wsEvent) {
	t.Helper()
	for i := 1; i < len(s.got); i++ {
		if s.got[i].seq(t) <= s.got[i-1].seq(t) {
			t.Errorf("%s: cursor %s after %s", s.name, s.got[i].Cursor, s.got[i-1].Cursor)
		}
	}
	want := []wsEvent{
		{Type: "message.received", Recipient: "alice@acme.test"},
		{Type: "message.queued", MessageID: ids.delivered, Recipient: "carol@remote.test"},
		{Type: "message.delivered", MessageID: ids.delivered, Recipient: "carol@remote.test"},
		{Type: "message.queued", MessageID: ids.bounced, Recipient: "nobody@remote.test"},
		{Type: "message.bounced", MessageID: ids.bounced, Recipient: "nobody@remote.test"},
		{Type: "message.queued", MessageID: ids.tracked, Recipient: "carol@remote.test"},
		{Type: "message.delivered", MessageID: ids.tracked, Recipient: "carol@remote.test"},
		{Type: "message.opened", MessageID: ids.tracked, Recipient: "carol@remote.test"},
		{Type: "message.clicked", MessageID: ids.tracked, Recipient: "carol@remote.test"},
	}
	i := 0
	for _, g := range s.got {
		if i < len(want) && g.Type == want[i].Type && g.Recipient == want[i].Recipient &&
			(want[i].MessageID == "" || g.MessageID == want[i].MessageID) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s: got\n%v\nwithout %v in order", s.name, s.got, want[i:])
	}
	sameEvents(t, s.name, s.got, log)
}

// readUntil reads events until the one with cursor.
func (s *subscriber) readUntil(t *testing.T, cursor string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.got) == 0 || s.got[len(s.got)-1].Cursor != cursor {
		s.next(t, time.Until(deadline))
	}
}

// inbound sends a message to rcpt through the MX with swaks.
func inbound(t *testing.T, c *cli, rcpt, subject string) {
	t.Helper()
	out, code := swaks(t, c.smtpAddr, "--to", rcpt, "--from", "dave@sender.test",
		"--h-Subject", subject, "--body", "Hello.")
	if code != 0 || !strings.Contains(out, "<-  250 2.0.0 OK") {
		t.Fatalf("swaks to %s: exit %d\n%s", rcpt, code, out)
	}
}
