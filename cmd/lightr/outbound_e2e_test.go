package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
)

// mxPeer is a running testdata/mxpeer.py: the remote mail exchanger of
// remote.test.
type mxPeer struct {
	port int
	dir  string
}

// startMXPeer runs testdata/mxpeer.py with args until the test ends.
func startMXPeer(t *testing.T, args ...string) *mxPeer {
	t.Helper()
	needTools(t, debianPython)
	p := &mxPeer{dir: t.TempDir()}
	cmd := exec.Command(debianPython, append([]string{"testdata/mxpeer.py", p.dir}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
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
		if p.port, err = strconv.Atoi(l); err != nil {
			t.Fatalf("mxpeer.py printed %q: %s", l, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("mxpeer.py did not start: %s", stderr.String())
	}
	return p
}

// peerMessage is one message the peer accepted.
type peerMessage struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	TLS      bool     `json:"tls"`
	raw      []byte
}

// messages returns what the peer has accepted so far, in order.
func (p *mxPeer) messages(t *testing.T) []peerMessage {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(p.dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	out := make([]peerMessage, 0, len(names))
	for _, n := range names {
		var m peerMessage
		b, err := os.ReadFile(strings.TrimSuffix(n, ".eml") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.raw, err = os.ReadFile(n); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// wait waits until the peer has accepted n messages, or fails after d.
func (p *mxPeer) wait(t *testing.T, n int, d time.Duration) []peerMessage {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ms := p.messages(t)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("the peer has %d messages after %s, want %d", len(ms), d, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// outboundEnv is a Lightr hosting acme.test (alice, with the DKIM key of
// `lightr dkim-gen`) and a DNS server whose MX for remote.test is the
// peer on loopback.
type outboundEnv struct {
	c      *cli
	dns    *resolvertest.Server
	peer   *mxPeer
	token  string
	record string // the TXT value dkim-gen printed
	http   string
}

// newOutboundEnv sets up the environment; serve is false for tests that
// start the server themselves.
func newOutboundEnv(t *testing.T, peerArgs []string, serve bool) *outboundEnv {
	t.Helper()
	needTools(t, "curl")
	e := &outboundEnv{c: newCLI(t), dns: resolvertest.Start(t), peer: startMXPeer(t, peerArgs...)}
	e.dns.Add(t, "remote.test. 300 IN MX 10 mx.remote.test.", "mx.remote.test. 300 IN A 127.0.0.1")
	e.c.ok("", "init")
	org := e.c.ok("", "add-org", "--name", "Acme")
	e.c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	e.record = txtValue(t, e.c.ok("", "dkim-gen", "--domain", "acme.test"))
	e.c.ok("correct horse battery staple\n", "add-account", "--domain", "acme.test",
		"--email", "alice@acme.test", "--password-stdin")
	e.token = e.c.ok("", "token", "--org", org)
	e.c.env = append(e.c.env,
		"LIGHTR_DNS_RESOLVER="+e.dns.Addr,
		"LIGHTR_OUTBOUND_MX_PORT="+strconv.Itoa(e.peer.port),
		"LIGHTR_OUTBOUND_RETRY_SCHEDULE=1s",
		"LIGHTR_OUTBOUND_POLL_INTERVAL=100ms",
		"LIGHTR_OUTBOUND_CONNECT_TIMEOUT=5s",
		"LIGHTR_SMTP_DOMAIN=mx.acme.test")
	if serve {
		e.http = e.c.serve(nil)
	}
	return e
}

// txtValue joins the character strings of the zone line dkim-gen printed.
func txtValue(t *testing.T, zoneLine string) string {
	t.Helper()
	parts := regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(zoneLine, -1)
	if len(parts) == 0 {
		t.Fatalf("dkim-gen printed %q, not a TXT record", zoneLine)
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p[1])
	}
	return b.String()
}

// sendEmail calls the sendEmail mutation with curl and returns the id.
func (e *outboundEnv) sendEmail(t *testing.T, input string) string {
	t.Helper()
	res := curlGraphQL(t, e.http, e.token, `mutation { sendEmail(input: `+input+`) { id } }`)
	data, _ := res["data"].(map[string]any)
	send, _ := data["sendEmail"].(map[string]any)
	id, _ := send["id"].(string)
	if id == "" {
		t.Fatalf("sendEmail answered %v", res)
	}
	return id
}

// events returns the types of the events about rcpt of the outbound
// message id, oldest first, read from the database.
func (e *outboundEnv) events(t *testing.T, id, rcpt string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.c.dir, "data", "lightr.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`SELECT type FROM events WHERE message_id = ? AND recipient = ? ORDER BY id`, id, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var types []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}

// waitEvents waits until the events about rcpt end with last.
func (e *outboundEnv) waitEvents(t *testing.T, id, rcpt, last string, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ev := e.events(t, id, rcpt)
		if len(ev) > 0 && ev[len(ev)-1] == last {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("events for %s after %s: %v, want the last to be %s", rcpt, d, ev, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verifyDKIM checks every DKIM signature of raw with python3-dkim, an
// independent verifier, against the TXT values dkim-gen printed (records
// maps a selector to its value), and returns each signature's a= tag.
func verifyDKIM(t *testing.T, raw []byte, records map[string]string) []string {
	t.Helper()
	const script = `
import json, sys, dkim
records = json.loads(sys.argv[1])
def dns(name, timeout=5):
    sel = name.decode().removesuffix("._domainkey.acme.test.")
    return records[sel].encode()
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = len([l for l in msg.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:")])
for i in range(n):
    ok = d.verify(idx=i, dnsfunc=dns)
    print(("pass" if ok else "fail"), d.signature_fields.get(b"a", b"").decode())
`
	recs, _ := json.Marshal(records)
	cmd := exec.Command(debianPython, "-c", script, string(recs))
	cmd.Stdin = strings.NewReader(string(raw))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3-dkim: %s %v\n%s", out, err, raw)
	}
	var algs []string
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		verdict, alg, _ := strings.Cut(strings.TrimSpace(line), " ")
		if verdict != "pass" {
			t.Fatalf("python3-dkim: %s\n%s", out, raw)
		}
		algs = append(algs, alg)
	}
	return algs
}

// TestOutbound_SendEmail: the smallest sendEmail call arrives at the
// remote MX found through DNS, signed twice (rsa-sha256 and the optional
// ed25519-sha256); python3-dkim verifies both against the records
// dkim-gen printed; the events read queued, delivered.
func TestOutbound_SendEmail(t *testing.T) {
	e := newOutboundEnv(t, nil, false)
	ed := txtValue(t, e.c.ok("", "dkim-gen", "--domain", "acme.test", "--algorithm", "ed25519", "--selector", "ed"))
	e.http = e.c.serve(nil)
	id := e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Hi", text: "Hello"}`)
	got := e.peer.wait(t, 1, 20*time.Second)
	m := got[0]
	if m.MailFrom != "alice@acme.test" || !slices.Equal(m.RcptTos, []string{"carol@remote.test"}) {
		t.Fatalf("peer got MAIL FROM %q RCPT %v", m.MailFrom, m.RcptTos)
	}
	if !strings.Contains(string(m.raw), "Subject: Hi") || !strings.Contains(string(m.raw), "Hello") {
		t.Fatalf("peer got\n%s", m.raw)
	}
	algs := verifyDKIM(t, m.raw, map[string]string{"default": e.record, "ed": ed})
	slices.Sort(algs)
	if !slices.Equal(algs, []string{"ed25519-sha256", "rsa-sha256"}) {
		t.Errorf("signatures %v, want rsa-sha256 and ed25519-sha256", algs)
	}
	ev := e.waitEvents(t, id, "carol@remote.test", "message.delivered", 10*time.Second)
	if strings.Join(ev, " ") != "message.queued message.delivered" {
		t.Errorf("events %v", ev)
	}
}

// TestOutbound_SubmissionArrives: a message submitted with `swaks --auth
// --tls` over submission.addr arrives at the remote MX, DKIM-signed so
// that python3-dkim verifies it against dkim-gen's record, with
// Lightr's Received field for the authenticated submission.
func TestOutbound_SubmissionArrives(t *testing.T) {
	needTools(t, "swaks")
	e := newOutboundEnv(t, nil, true)
	out, code := swaks(t, e.c.submissionAddr, "--tls", "--auth", "PLAIN",
		"--auth-user", "alice@acme.test", "--auth-password", "correct horse battery staple",
		"--from", "alice@acme.test", "--to", "carol@remote.test", "--header", "Subject: via submission")
	if code != 0 || !strings.Contains(out, "<-  250 ") {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	m := e.peer.wait(t, 1, 20*time.Second)[0]
	if m.MailFrom != "alice@acme.test" || !strings.Contains(string(m.raw), "Subject: via submission") {
		t.Fatalf("peer got MAIL FROM %q\n%s", m.MailFrom, m.raw)
	}
	if !strings.Contains(string(m.raw), "ESMTPSA") {
		t.Errorf("no Received field for an authenticated submission:\n%s", m.raw)
	}
	verifyDKIM(t, m.raw, map[string]string{"default": e.record})
}

// TestOutbound_DeferredThenDelivered: the peer answers 451 twice, then
// accepts; with a one-second schedule the events read queued, deferred,
// deferred, delivered, and the peer has the message once.
func TestOutbound_DeferredThenDelivered(t *testing.T) {
	e := newOutboundEnv(t, []string{"--defer", "2"}, true)
	id := e.sendEmail(t, `{from: "alice@acme.test", to: ["carol@remote.test"], subject: "Retry", text: "x"}`)
	ev := e.waitEvents(t, id, "carol@remote.test", "message.delivered", 30*time.Second)
	want := "message.queued message.deferred message.deferred message.delivered"
	if strings.Join(ev, " ") != want {
		t.Errorf("events %v, want %s", ev, want)
	}
	if n := len(e.peer.messages(t)); n != 1 {
		t.Errorf("the peer has %d copies, want 1", n)
	}
}

// TestOutbound_BounceToInbox: a 550 from the peer gives a bounced event
// and a DSN in alice's INBOX, read back through GraphQL.
func TestOutbound_BounceToInbox(t *testing.T) {
	e := newOutboundEnv(t, []string{"--reject-prefix", "nobody@"}, true)
	id := e.sendEmail(t, `{from: "alice@acme.test", to: ["nobody@remote.test"], subject: "Lost", text: "x"}`)
	e.waitEvents(t, id, "nobody@remote.test", "message.bounced", 20*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := curlGraphQL(t, e.http, e.token,
			`{ messages(first: 10) { edges { node { subject mailbox { name } fromAddress } } } }`)
		b, _ := json.Marshal(res)
		if strings.Contains(string(b), "Undelivered Mail Returned to Sender") &&
			strings.Contains(string(b), `"INBOX"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no DSN in alice's INBOX: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(e.peer.messages(t)); n != 0 {
		t.Errorf("the peer accepted %d messages", n)
	}
}

// TestOutbound_CrashLosesNothing queues 1,000 messages toward a slow
// peer, kills Lightr with SIGKILL in the middle of delivery, and restarts
// it: every message arrives, and the only duplicates are units that were
// leased (in flight) at the moment of the kill.
func TestOutbound_CrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 1,000 messages and a restart")
	}
	const total, batch = 1000, 50
	e := newOutboundEnv(t, []string{"--delay", "0.05"}, false)
	// A lease far longer than the test: only Recover at restart can free
	// the units in flight at the kill.
	env := []string{"LIGHTR_OUTBOUND_LEASE=1h", "LIGHTR_OUTBOUND_NODE_NAME=crash-node"}
	srv := startServer(t, e.c, env)
	e.http = srv.httpAddr

	for i := 0; i < total; i += batch {
		var q strings.Builder
		q.WriteString("mutation {")
		for j := i; j < i+batch; j++ {
			q.WriteString(" m" + strconv.Itoa(j) + `: sendEmail(input: {from: "alice@acme.test", ` +
				`to: ["carol@remote.test"], subject: "crash ` + strconv.Itoa(j) + `", text: "x"}) { id }`)
		}
		q.WriteString(" }")
		res := curlGraphQL(t, e.http, e.token, q.String())
		if res["errors"] != nil {
			t.Fatalf("sendEmail batch %d: %v", i/batch, res["errors"])
		}
	}
	// Kill once about a third has arrived.
	e.peer.wait(t, total/3, 60*time.Second)
	srv.kill(t)
	inFlight := leasedSubjects(t, filepath.Join(e.c.dir, "data", "lightr.db"))
	before := len(e.peer.messages(t))
	t.Logf("killed with %d delivered and %d units leased", before, len(inFlight))

	startServer(t, e.c, env)
	deadline := time.Now().Add(120 * time.Second)
	var seen map[string]int
	for {
		seen = map[string]int{}
		for _, m := range e.peer.messages(t) {
			seen[subjectOf(m.raw)]++
		}
		if len(seen) == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(seen) != total {
		t.Fatalf("%d of %d messages arrived after the restart", len(seen), total)
	}
	dups := 0
	for subj, n := range seen {
		if n > 1 {
			dups += n - 1
			if !inFlight[subj] {
				t.Errorf("%q arrived %d times but was not in flight at the kill", subj, n)
			}
		}
	}
	t.Logf("all %d arrived; %d duplicates, all among the %d in flight", total, dups, len(inFlight))
}

// leasedSubjects returns the subjects of the messages that had a leased
// recipient in the stopped server's database.
func leasedSubjects(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`SELECT DISTINCT m.subject FROM outbound_recipients r
		JOIN outbound_messages m ON m.id = r.outbound_message_id
		WHERE r.lease_owner != '' AND r.status IN ('queued', 'deferred')`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out[s] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// subjectOf returns the Subject field of raw.
func subjectOf(raw []byte) string {
	for line := range strings.SplitSeq(string(raw), "\r\n") {
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}
