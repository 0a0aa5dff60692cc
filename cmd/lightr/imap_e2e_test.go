package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The account every IMAP end-to-end test logs in as.
const (
	imapUser = "alice@acme.test"
	imapPass = "correct horse battery staple"
)

// imapEnv is a served account with three messages in its INBOX, delivered
// over SMTP by swaks: UID 1 plain text, UID 2 multipart with an attachment,
// UID 3 with a UTF-8 subject and body.
type imapEnv struct {
	httpAddr, token string
	host, port      string
	// cert is the self-signed certificate `lightr init` wrote, which the
	// clients are told to trust for STARTTLS.
	cert string
}

// The subjects of the delivered messages, by UID.
var imapSubjects = []string{"", "Hello plain", "With attachment", "Grüße aus Köln"}

func newIMAPEnv(t *testing.T) *imapEnv {
	t.Helper()
	needTools(t, "swaks", "curl")
	c := newCLI(t)
	c.env = append(c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0")
	c.ok("", "init")
	org := c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	c.ok(imapPass+"\n", "add-account", "--domain", "acme.test", "--email", imapUser, "--password-stdin")
	e := &imapEnv{token: c.ok("", "token", "--org", org),
		cert: filepath.Join(c.dir, "data", "tls", "cert.pem")}
	e.httpAddr = c.serve(nil)
	var err error
	if e.host, e.port, err = net.SplitHostPort(c.imapAddr); err != nil {
		t.Fatalf("imap address %q from the log: %v", c.imapAddr, err)
	}

	attachment := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(attachment, []byte("attachment content here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{"--h-Subject", imapSubjects[1], "--body", "Plain body line.\nSecond line with the word kumquat."},
		{"--h-Subject", imapSubjects[2], "--body", "See the attached file.",
			"--attach-type", "text/plain", "--attach-name", "notes.txt", "--attach", "@" + attachment},
		{"--h-Subject", "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", "--body", "Ünïcode body, sent as 8bit."},
	} {
		args = append(args, "--to", imapUser, "--from", "bob@sender.test")
		if out, code := swaks(t, c.smtpAddr, args...); code != 0 {
			t.Fatalf("swaks message %d: exit %d\n%s", i+1, code, out)
		}
	}
	return e
}

// gqlMessage is a message as GraphQL lists it.
type gqlMessage struct {
	ID      string
	UID     int
	Subject string
	Seen    bool
	Flagged bool
	Mailbox struct{ Name string }
	RawURL  string
}

// messages lists the organization's messages through GraphQL, by mailbox
// and UID.
func (e *imapEnv) messages(t *testing.T) []gqlMessage {
	t.Helper()
	var res struct {
		Data struct {
			Messages struct{ Edges []struct{ Node gqlMessage } }
		}
	}
	graphQL(t, e.httpAddr, e.token, `{ messages(first: 100) { edges { node {
		id uid subject seen flagged mailbox { name } rawUrl } } } }`, &res)
	var out []gqlMessage
	for _, edge := range res.Data.Messages.Edges {
		out = append(out, edge.Node)
	}
	slices.SortFunc(out, func(a, b gqlMessage) int {
		if c := strings.Compare(a.Mailbox.Name, b.Mailbox.Name); c != 0 {
			return c
		}
		return a.UID - b.UID
	})
	return out
}

// message returns the message with UID uid in mailbox, or fails.
func (e *imapEnv) message(t *testing.T, mailbox string, uid int) gqlMessage {
	t.Helper()
	for _, m := range e.messages(t) {
		if m.Mailbox.Name == mailbox && m.UID == uid {
			return m
		}
	}
	t.Fatalf("GraphQL lists no message %s/%d", mailbox, uid)
	return gqlMessage{}
}

// raw downloads a message's stored bytes from its rawUrl with curl.
func (e *imapEnv) raw(t *testing.T, m gqlMessage) []byte {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "--fail", "--max-time", "10",
		"-H", "Authorization: Bearer "+e.token, "http://"+e.httpAddr+m.RawURL).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", m.RawURL, err)
	}
	return out
}

// mutate runs a GraphQL mutation and fails on any error.
func (e *imapEnv) mutate(t *testing.T, query string) {
	t.Helper()
	var res map[string]any
	graphQL(t, e.httpAddr, e.token, query, &res)
}

// curl runs curl against the IMAP server over STARTTLS (--ssl-reqd),
// verifying the server with the self-signed certificate, and returns its
// output.
func (e *imapEnv) curl(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "15", "--ssl-reqd",
		"--cacert", e.cert, "-u", imapUser + ":" + imapPass,
		"imap://" + net.JoinHostPort(e.host, e.port) + path}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s %v: %v\n%s", path, args, err, stderr.Bytes())
	}
	return string(out)
}

// appendMessage APPENDs a message to mailbox with curl's upload and
// returns the bytes sent.
func (e *imapEnv) appendMessage(t *testing.T, mailbox, subject string) []byte {
	t.Helper()
	msg := []byte("From: Alice <alice@acme.test>\r\nTo: Carol <carol@example.test>\r\n" +
		"Subject: " + subject + "\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@acme.test>\r\n\r\n" +
		"Appended by curl to " + mailbox + ".\r\n")
	file := filepath.Join(t.TempDir(), "append.eml")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	e.curl(t, "/"+strings.ReplaceAll(mailbox, " ", "%20"), "-T", file)
	return msg
}

// TestIMAP_Curl lists, fetches, searches and appends with curl, over
// STARTTLS, and checks what it gets against the stored messages.
func TestIMAP_Curl(t *testing.T) {
	e := newIMAPEnv(t)

	// Without TLS the server offers no way to log in (LOGINDISABLED, no
	// AUTH=), so curl gives up before it sends the password.
	plain := exec.Command("curl", "-sS", "--max-time", "15", "-u", imapUser+":"+imapPass,
		"imap://"+net.JoinHostPort(e.host, e.port)+"/")
	if out, err := plain.CombinedOutput(); !strings.Contains(string(out), "Login denied") {
		t.Errorf("curl without TLS: %v %q, want a login denied", err, out)
	}

	// LIST: the standard mailboxes, INBOX unquoted, special-use attributes.
	list := e.curl(t, "/")
	for _, want := range []string{`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`, `* LIST (\HasNoChildren \Drafts) "/" "Drafts"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`, `* LIST (\HasNoChildren \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Archive) "/" "Archive"`} {
		if !strings.Contains(list, want+"\r\n") {
			t.Errorf("LIST lacks %s:\n%s", want, list)
		}
	}

	curlFetch(t, e)
	curlSearch(t, e)

	// ID (RFC 2971) as a custom request over STARTTLS.
	if got := e.curl(t, "/", "-X", `ID ("name" "curl")`); got != "* ID (\"name\" \"Lightr\")\r\n" {
		t.Errorf("ID: %q", got)
	}

	// APPEND with curl's upload: the API holds the same bytes in Drafts.
	sent := e.appendMessage(t, "Drafts", "Draft by curl")
	if got := e.raw(t, e.message(t, "Drafts", 1)); !bytes.Equal(got, sent) {
		t.Errorf("appended %q, the API serves %q", sent, got)
	}
	if got := e.curl(t, "/Drafts", "-X", "UID SEARCH SUBJECT curl"); got != "* SEARCH 1\r\n" {
		t.Errorf("SEARCH in Drafts after APPEND: %q", got)
	}
}

// curlFetch fetches whole messages, sections and partial ranges with
// curl's IMAP URLs (RFC 5092) and checks them against the API's bytes.
func curlFetch(t *testing.T, e *imapEnv) {
	t.Helper()
	// FETCH BODY[] of each message: the bytes the API serves, and curl's
	// non-peeking fetch sets \Seen, which the API shows.
	for uid := 1; uid <= 3; uid++ {
		m := e.message(t, "INBOX", uid)
		if m.Subject != imapSubjects[uid] || m.Seen {
			t.Fatalf("INBOX/%d before the fetch: %+v", uid, m)
		}
		if got, want := e.curl(t, fmt.Sprintf("/INBOX;UID=%d", uid)), e.raw(t, m); got != string(want) {
			t.Errorf("INBOX;UID=%d: curl fetched\n%q\nthe API serves\n%q", uid, got, want)
		}
		if m := e.message(t, "INBOX", uid); !m.Seen {
			t.Errorf("INBOX/%d is not seen after FETCH BODY[]", uid)
		}
	}

	// Sections and partial fetches.
	for _, tc := range []struct{ path, want string }{
		{"/INBOX;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)", "Subject: Hello plain\r\n\r\n"},
		{"/INBOX;UID=3/;SECTION=HEADER.FIELDS%20(SUBJECT)",
			"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\r\n"},
		// swaks writes no blank line before a boundary; the CRLF before it is
		// the boundary's (RFC 2046 §5.1.1).
		{"/INBOX;UID=2/;SECTION=1", "See the attached file."},
		{"/INBOX;UID=2/;SECTION=2", "YXR0YWNobWVudCBjb250ZW50IGhlcmUK\r\n"},
		{"/INBOX;UID=2/;SECTION=2.MIME", "Content-Type: text/plain; name=\"notes.txt\"\r\n" +
			"Content-Description: notes.txt\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n" +
			"Content-Transfer-Encoding: BASE64\r\n\r\n"},
		{"/INBOX;UID=1;PARTIAL=0.12", "Return-Path:"},
	} {
		if got := e.curl(t, tc.path); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
}

// curlSearch searches INBOX with curl's custom requests and URL query,
// after curlFetch has marked every message seen.
func curlSearch(t *testing.T, e *imapEnv) {
	t.Helper()
	for _, tc := range []struct{ path, req, want string }{
		{"/INBOX", "UID SEARCH TEXT kumquat", "* SEARCH 1\r\n"},
		{"/INBOX", "UID SEARCH SUBJECT attachment", "* SEARCH 2\r\n"},
		{"/INBOX", "UID SEARCH FROM bob@sender.test", "* SEARCH 1 2 3\r\n"},
		{"/INBOX", "UID SEARCH UNSEEN", "* SEARCH\r\n"},
		{"/INBOX?BODY%20attached", "", "* SEARCH 2\r\n"},
	} {
		var got string
		if tc.req != "" {
			got = e.curl(t, tc.path, "-X", tc.req)
		} else {
			got = e.curl(t, tc.path)
		}
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.path, tc.req, got, tc.want)
		}
	}
}

// imaplibClient drives testdata/imapclient.py: one JSON command a line in,
// one JSON answer a line out.
type imaplibClient struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan []byte
}

// imaplibAnswer is what imapclient.py prints for a command.
type imaplibAnswer struct {
	Typ    string
	Error  string
	Exists int
	UIDs   []int
	Idling bool
	Lines  []string
	Data   []struct{ Head, Literal string }
	// Capabilities and IDs come with the first answer: what the server
	// announced after login, and its answers to ID before STARTTLS and
	// after login.
	Capabilities []string
	IDs          []*string
	// Untagged holds the untagged responses since the last answer, by name.
	Untagged map[string][]string
}

func startImaplib(t *testing.T, e *imapEnv) *imaplibClient {
	t.Helper()
	script, _ := filepath.Abs("testdata/imapclient.py")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	cmd := exec.CommandContext(ctx, debianPython, script, e.host, e.port, e.cert, imapUser, imapPass)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &imaplibClient{t: t, in: in, lines: make(chan []byte)}
	go func() {
		lines := bufio.NewScanner(out)
		lines.Buffer(nil, 1<<20)
		for lines.Scan() {
			p.lines <- slices.Clone(lines.Bytes())
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		// Closing stdin ends the script; read what it still prints (after
		// a failure, answers nobody waited for) to the end before Wait.
		_ = in.Close()
		for range p.lines {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("imapclient.py: %v\n%s", err, stderr.Bytes())
		}
		cancel()
	})
	a := p.read()
	if a.Typ != "OK" {
		t.Fatalf("imapclient.py did not log in: %+v", a) // its stderr follows, from Cleanup
	}
	// ID (RFC 2971), in clear before STARTTLS and after login.
	if !slices.Contains(a.Capabilities, "ID") || len(a.IDs) != 2 {
		t.Errorf("ID not announced or not sent: %+v", a)
	}
	for i, id := range a.IDs {
		if id == nil || *id != `("name" "Lightr")` {
			t.Errorf("ID answer %d: %v", i, id)
		}
	}
	return p
}

// read waits for the script's next answer.
func (p *imaplibClient) read() imaplibAnswer {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatal("imapclient.py exited early")
		}
		var a imaplibAnswer
		if err := json.Unmarshal(line, &a); err != nil {
			p.t.Fatalf("imapclient.py printed %q: %v", line, err)
		}
		return a
	case <-time.After(30 * time.Second):
		p.t.Fatal("imapclient.py gave no answer within 30s")
	}
	return imaplibAnswer{}
}

// send sends one command; do sends it and waits for an OK answer.
func (p *imaplibClient) send(cmd ...any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("imapclient.py %v: %v", cmd, err)
	}
}

func (p *imaplibClient) do(cmd ...any) imaplibAnswer {
	p.t.Helper()
	p.send(cmd...)
	a := p.read()
	if a.Typ != "OK" {
		p.t.Fatalf("imapclient.py %v: %+v", cmd, a)
	}
	return a
}

// literal returns the one literal a FETCH answer carries, and its head.
func (a imaplibAnswer) literal(t *testing.T) (head string, lit []byte) {
	t.Helper()
	for _, d := range a.Data {
		if d.Literal != "" {
			b, err := base64.StdEncoding.DecodeString(d.Literal)
			if err != nil {
				t.Fatalf("literal %q: %v", d.Literal, err)
			}
			return d.Head, b
		}
	}
	t.Fatalf("FETCH answer without a literal: %+v", a)
	return "", nil
}

// heads joins the non-literal lines of a FETCH or STORE answer.
func (a imaplibAnswer) heads() string {
	var s []string
	for _, d := range a.Data {
		s = append(s, d.Head)
	}
	return strings.Join(s, "\n")
}

// TestIMAP_Imaplib runs SEARCH, partial FETCH and STORE with Python's
// imaplib over STARTTLS, and checks that IMAP and GraphQL see one set of
// data: a flag stored over IMAP shows in the API, a flag the API sets
// shows in FETCH, and a message the API deletes is expunged for an IDLE
// session.
func TestIMAP_Imaplib(t *testing.T) {
	needTools(t, debianPython)
	e := newIMAPEnv(t)
	p := startImaplib(t, e)

	imaplibSearch(t, p)
	imaplibPartialFetch(t, e, p)
	imaplibOneSetOfData(t, e, p)
	p.send("logout")
	if a := p.read(); a.Typ != "BYE" {
		t.Errorf("LOGOUT: %+v", a)
	}
}

// imaplibSearch selects INBOX and searches it with criteria on flags,
// header fields, text and size, in UTF-8 too.
func imaplibSearch(t *testing.T, p *imaplibClient) {
	t.Helper()
	if a := p.do("select", "INBOX"); a.Exists != 3 {
		t.Fatalf("SELECT INBOX: %d messages, want 3", a.Exists)
	}
	for _, tc := range []struct {
		crit []any
		want []int
	}{
		{[]any{nil, "ALL"}, []int{1, 2, 3}},
		{[]any{nil, "UNSEEN"}, []int{1, 2, 3}},
		{[]any{nil, "TEXT", "kumquat"}, []int{1}},
		{[]any{nil, "SUBJECT", "ATTACHMENT"}, []int{2}},
		{[]any{nil, "BODY", "attached", "NOT", "SUBJECT", "plain"}, []int{2}},
		{[]any{nil, "OR", "UID", "1", "HEADER", "Subject", "attachment"}, []int{1, 2}},
		{[]any{nil, "LARGER", "1000"}, []int{2}},
		{[]any{"UTF-8", "SUBJECT", "lit:Köln"}, []int{3}},
		{[]any{"UTF-8", "TEXT", "lit:ünïcode"}, []int{3}},
		{[]any{"UTF-8", "SUBJECT", "lit:Grüsse"}, nil},
	} {
		if a := p.do(append([]any{"search"}, tc.crit...)...); !slices.Equal(a.UIDs, tc.want) {
			t.Errorf("UID SEARCH %v: %v, want %v", tc.crit, a.UIDs, tc.want)
		}
	}
}

// imaplibPartialFetch fetches partial ranges of the whole multipart
// message and of its parts (part 2 is the attachment, base64), peeking.
func imaplibPartialFetch(t *testing.T, e *imapEnv, p *imaplibClient) {
	t.Helper()
	raw2 := e.raw(t, e.message(t, "INBOX", 2))
	head, lit := p.do("fetch", "2", "(BODY.PEEK[]<0.100>)").literal(t)
	if !strings.Contains(head, "BODY[]<0> {100}") || !bytes.Equal(lit, raw2[:100]) {
		t.Errorf("BODY.PEEK[]<0.100>: %s %q, want %q", head, lit, raw2[:100])
	}
	head, lit = p.do("fetch", "2", "(BODY.PEEK[]<200.50>)").literal(t)
	if !strings.Contains(head, "BODY[]<200> {50}") || !bytes.Equal(lit, raw2[200:250]) {
		t.Errorf("BODY.PEEK[]<200.50>: %s %q, want %q", head, lit, raw2[200:250])
	}
	for _, tc := range []struct{ item, head, want string }{
		{"BODY.PEEK[1]<0.7>", "BODY[1]<0> {7}", "See the"},
		{"BODY.PEEK[1]<4.100>", "BODY[1]<4> {18}", "the attached file."},
		{"BODY.PEEK[2]<0.8>", "BODY[2]<0> {8}", "YXR0YWNo"},
		{"BINARY.PEEK[2]", "BINARY[2] ~{24}", "attachment content here\n"},
	} {
		head, lit := p.do("fetch", "2", "("+tc.item+")").literal(t)
		if !strings.Contains(head, tc.head) || string(lit) != tc.want {
			t.Errorf("%s: %s %q, want %s %q", tc.item, head, lit, tc.head, tc.want)
		}
	}
	if m := e.message(t, "INBOX", 2); m.Seen {
		t.Error("BODY.PEEK set \\Seen")
	}
}

// imaplibOneSetOfData checks that IMAP and GraphQL see one set of data.
func imaplibOneSetOfData(t *testing.T, e *imapEnv, p *imaplibClient) {
	t.Helper()
	// STORE over IMAP shows in GraphQL.
	a := p.do("store", "1", "+FLAGS", `(\Flagged \Seen)`)
	if h := a.heads(); !strings.Contains(h, `\Flagged`) || !strings.Contains(h, `\Seen`) {
		t.Errorf("STORE +FLAGS answered %q", h)
	}
	if m := e.message(t, "INBOX", 1); !m.Seen || !m.Flagged {
		t.Errorf("after STORE +FLAGS (\\Flagged \\Seen), GraphQL shows %+v", m)
	}
	p.do("store", "1", "-FLAGS.SILENT", `(\Seen)`)
	if m := e.message(t, "INBOX", 1); m.Seen || !m.Flagged {
		t.Errorf("after STORE -FLAGS (\\Seen), GraphQL shows %+v", m)
	}

	// markMessages through GraphQL shows over IMAP: unsolicited at the
	// next NOOP, and in FETCH FLAGS.
	m2 := e.message(t, "INBOX", 2)
	e.mutate(t, `mutation { markMessages(ids: ["`+m2.ID+`"], seen: true, flagged: true) { id } }`)
	if a := p.do("noop"); !slices.ContainsFunc(a.Untagged["FETCH"], func(f string) bool {
		return strings.HasPrefix(f, "2 (") && strings.Contains(f, `\Flagged`)
	}) {
		t.Errorf("NOOP after markMessages reported no FETCH of message 2: %v", a.Untagged)
	}
	if h := p.do("fetch", "2", "(FLAGS)").heads(); !strings.Contains(h, `\Seen`) ||
		!strings.Contains(h, `\Flagged`) {
		t.Errorf("FETCH FLAGS after markMessages: %q", h)
	}

	// deleteMessages through GraphQL: an IDLE session sees the EXPUNGE.
	m3 := e.message(t, "INBOX", 3)
	p.send("idle", 15)
	if a := p.read(); !a.Idling {
		t.Fatalf("IDLE: %+v", a)
	}
	e.mutate(t, `mutation { deleteMessages(ids: ["`+m3.ID+`"]) }`)
	if a := p.read(); a.Typ != "OK" || !slices.Contains(a.Lines, "* 3 EXPUNGE") {
		t.Errorf("IDLE after deleteMessages: %+v, want * 3 EXPUNGE", a)
	}
	if a := p.do("search", nil, "ALL"); !slices.Equal(a.UIDs, []int{1, 2}) {
		t.Errorf("UID SEARCH ALL after the deletion: %v", a.UIDs)
	}
	if a := p.do("select", "INBOX"); a.Exists != 2 {
		t.Errorf("SELECT INBOX after the deletion: %d messages", a.Exists)
	}
}

// maildir is what one mbsync run left in a local Maildir tree: for each
// folder, its messages by file name (cur/ and new/).
type maildir map[string]map[string][]byte

func readMaildir(t *testing.T, root string) maildir {
	t.Helper()
	md := maildir{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || (d.Name() != "cur" && d.Name() != "new") {
			return err
		}
		folder, _ := filepath.Rel(root, filepath.Dir(path))
		if md[folder] == nil {
			md[folder] = map[string][]byte{}
		}
		files, err := os.ReadDir(path)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(path, f.Name()))
			if err != nil {
				return err
			}
			md[folder][filepath.Join(d.Name(), f.Name())] = b
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// find returns the file name of the message in folder whose content
// contains s, or fails.
func (md maildir) find(t *testing.T, folder, s string) string {
	t.Helper()
	for name, b := range md[folder] {
		if bytes.Contains(b, []byte(s)) {
			return name
		}
	}
	t.Fatalf("no message with %q in the local %s", s, folder)
	return ""
}

// maildirFlags returns the info flags of a Maildir file name ("FS" of
// "…:2,FS").
func maildirFlags(name string) string {
	_, flags, _ := strings.Cut(filepath.Base(name), ":2,")
	return flags
}

// asMbsyncStores undoes what mbsync does to a message on its way into a
// Maildir (LF line ends, an X-TUID header field it tracks the copy by), so
// that what is left can be compared byte for byte with the server's.
func asMbsyncStores(b []byte) string {
	var out []string
	for line := range strings.SplitSeq(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if !strings.HasPrefix(line, "X-TUID: ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// mbsync runs mbsync over every channel of rc, bounded in time.
func mbsync(t *testing.T, rc string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mbsync", "-c", rc, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
}

// mbsyncConfig writes an mbsyncrc that syncs every folder of the account
// with a Maildir tree at local, both ways, deletions included, over
// STARTTLS with the server's own certificate as the only one trusted.
func mbsyncConfig(t *testing.T, e *imapEnv, local string) string {
	t.Helper()
	rc := filepath.Join(t.TempDir(), "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount lightr
Host %s
Port %s
User %s
Pass "%s"
SSLType STARTTLS
CertificateFile %s
SystemCertificates no
Timeout 20

IMAPStore remote
Account lightr

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel everything
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, e.host, e.port, imapUser, imapPass, e.cert, local, local)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestIMAP_Mbsync syncs every folder of the account to a local Maildir with
// mbsync (isync) over STARTTLS, changes, deletes and adds messages on each
// side, and syncs again: what one side did, the other shows.
func TestIMAP_Mbsync(t *testing.T) {
	needTools(t, "mbsync")
	e := newIMAPEnv(t)

	// A folder of the client's own, and messages in two more folders.
	if out := e.curl(t, "/", "-X", "CREATE Projects/2026"); out != "" {
		t.Fatalf("CREATE answered %q", out)
	}
	e.appendMessage(t, "Sent", "Sent by curl")
	e.appendMessage(t, "Projects/2026", "Filed by curl")

	local := filepath.Join(t.TempDir(), "mail")
	if err := os.Mkdir(local, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := mbsyncConfig(t, e, local)

	// First run: every folder arrives, each message as the server stores
	// it. CREATE made the parent Projects a mailbox too (RFC 9051 §6.3.4).
	mbsync(t, rc)
	md := readMaildir(t, local)
	checkMirror(t, e, md, map[string]int{"Archive": 0, "Drafts": 0, "INBOX": 3, "Junk": 0,
		"Projects": 0, "Projects/2026": 1, "Sent": 1, "Trash": 0})

	written := changeMaildir(t, local, md)
	mbsync(t, rc)
	checkLocalChanges(t, e, written)

	// Changes through the API: a flag cleared, a message deleted.
	hello := e.message(t, "INBOX", 1)
	e.mutate(t, `mutation { markMessages(ids: ["`+hello.ID+`"], flagged: false) { id } }`)
	e.mutate(t, `mutation { deleteMessages(ids: ["`+e.message(t, "INBOX", 3).ID+`"]) }`)
	mbsync(t, rc)
	md = readMaildir(t, local)
	if len(md["INBOX"]) != 1 {
		t.Fatalf("local INBOX after the API's deletion: %d messages, want 1", len(md["INBOX"]))
	}
	if name := md.find(t, "INBOX", "Subject: Hello plain"); maildirFlags(name) != "S" {
		t.Errorf("local INBOX message %s: flags %q, want S (seen, no longer flagged)",
			name, maildirFlags(name))
	}
	if n := len(md["Projects/2026"]); n != 2 {
		t.Errorf("local Projects/2026: %d messages, want 2", n)
	}
}

// checkMirror checks that the local folders are the account's, each with
// count messages, which are the server's as mbsync stores them.
func checkMirror(t *testing.T, e *imapEnv, md maildir, count map[string]int) {
	t.Helper()
	stored := map[string][]string{}
	for _, m := range e.messages(t) {
		stored[m.Mailbox.Name] = append(stored[m.Mailbox.Name], asMbsyncStores(e.raw(t, m)))
	}
	folders := slices.Sorted(maps.Keys(count))
	if got := slices.Sorted(maps.Keys(md)); !slices.Equal(got, folders) {
		t.Fatalf("local folders %v, want %v", got, folders)
	}
	for _, f := range folders {
		var got []string
		for _, b := range md[f] {
			got = append(got, asMbsyncStores(b))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(stored[f]))
		if len(got) != count[f] || !slices.Equal(got, want) {
			t.Errorf("local %s holds %d messages, want %d as stored:\n%q\nwant\n%q",
				f, len(got), count[f], got, want)
		}
	}
}

// changeMaildir changes the local Maildir as a mail reader would: one
// message read and flagged, one marked trashed (Expunge Both expunges it
// on the server too), one file removed (a deletion), one new message in
// Projects/2026, whose text it returns, and a new folder (Create Both
// creates it on the server) with a message already read.
func changeMaildir(t *testing.T, local string, md maildir) string {
	t.Helper()
	inbox := filepath.Join(local, "INBOX")
	plain := md.find(t, "INBOX", "Subject: Hello plain")
	rename(t, filepath.Join(inbox, plain), filepath.Join(inbox, "cur", filepath.Base(plain)+"FS"))
	attached := md.find(t, "INBOX", "Subject: With attachment")
	rename(t, filepath.Join(inbox, attached), filepath.Join(inbox, attached)+"T")
	if err := os.Remove(filepath.Join(local, "Sent", md.find(t, "Sent", "Sent by curl"))); err != nil {
		t.Fatal(err)
	}

	written := "From: Alice <alice@acme.test>\nTo: Dave <dave@example.test>\n" +
		"Subject: Written offline\nDate: Fri, 04 Dec 2026 11:00:00 +0000\n" +
		"Message-ID: <offline@acme.test>\n\nKept in a local Maildir first.\n"
	note := strings.Replace(written, "Subject: Written offline", "Subject: A note", 1)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(local, "Notes", sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for file, text := range map[string]string{
		filepath.Join(local, "Projects", "2026", "new", "1796400000.1_1.localhost:2,"): written,
		filepath.Join(local, "Notes", "cur", "1796400000.2_1.localhost:2,S"):           note,
	} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return written
}

// checkLocalChanges checks through GraphQL that changeMaildir's changes
// reached the server; written is the new message's text.
func checkLocalChanges(t *testing.T, e *imapEnv, written string) {
	t.Helper()
	var subjects []string
	for _, m := range e.messages(t) {
		subjects = append(subjects, m.Mailbox.Name+": "+m.Subject)
		switch m.Subject {
		case "Hello plain":
			if !m.Seen || !m.Flagged {
				t.Errorf("after the local flag change, GraphQL shows %+v", m)
			}
		case "A note":
			if !m.Seen || m.Flagged {
				t.Errorf("the local folder's read message is on the server as %+v", m)
			}
		case "Written offline":
			raw := e.raw(t, m)
			if asMbsyncStores(raw) != asMbsyncStores([]byte(written)) ||
				!bytes.Contains(raw, []byte("\r\nSubject: Written offline\r\n")) {
				t.Errorf("the server stores the new local message as %q", raw)
			}
		}
	}
	want := []string{"INBOX: Hello plain", "INBOX: Grüße aus Köln", "Notes: A note",
		"Projects/2026: Filed by curl", "Projects/2026: Written offline"}
	if !slices.Equal(subjects, want) {
		t.Errorf("after the local changes, GraphQL lists %q, want %q", subjects, want)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestIMAP_Mutt has mutt read a message over STARTTLS in a batch run:
// mutt needs a terminal, which script(1) gives it, and pushed keys drive
// it: jump to message 3, pipe it decoded to a file, display it (which
// marks it read), delete message 1, sync the mailbox (which stores \Seen
// and expunges the deleted one on the server) and quit.
func TestIMAP_Mutt(t *testing.T) {
	needTools(t, "mutt", "script")
	e := newIMAPEnv(t)

	dir := t.TempDir()
	out := filepath.Join(dir, "piped.txt")
	rc := filepath.Join(dir, "muttrc")
	conf := fmt.Sprintf(`set folder="imap://%s@%s/"
set spoolfile="+INBOX"
set imap_pass="%s"
set ssl_starttls=yes
set ssl_force_tls=yes
set certificate_file="%s"
set charset="utf-8"
set header_cache=""
set message_cachedir=""
set sort=mailbox-order
set pipe_decode=yes
set wait_key=no
set sleep_time=0
set move=no
set delete=yes
set confirmappend=no
set connect_timeout=10
`, strings.ReplaceAll(imapUser, "@", "%40"), net.JoinHostPort(e.host, e.port), imapPass, e.cert)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := "<jump>3<enter><pipe-message>cat > " + out + "<enter><display-message><exit>" +
		"<jump>1<enter><delete-message><sync-mailbox><quit>"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	muttCmd := "mutt -n -F " + rc + " -e 'push \"" + keys + "\"'"
	cmd := exec.CommandContext(ctx, "script", "-qfec", muttCmd, "/dev/null")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=vt100", "LANG=C.UTF-8"}
	tty, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mutt: %v; the end of its screen:\n%q", err, tty[max(0, len(tty)-1500):])
	}

	if !bytes.Contains(tty, []byte("SSL/TLS connection using TLS")) {
		t.Errorf("mutt did not say it used TLS; the end of its screen:\n%q", tty[max(0, len(tty)-1500):])
	}
	piped, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("mutt piped nothing: %v; the end of its screen:\n%q", err, tty[max(0, len(tty)-1500):])
	}
	for _, want := range []string{"Subject: Grüße aus Köln\n", "From: bob@sender.test\n",
		"\nÜnïcode body, sent as 8bit.\n"} {
		if !strings.Contains(string(piped), want) {
			t.Errorf("mutt's decoded message lacks %q:\n%s", want, piped)
		}
	}
	var left []string
	for _, m := range e.messages(t) {
		left = append(left, fmt.Sprintf("%s/%d seen=%v", m.Mailbox.Name, m.UID, m.Seen))
	}
	if want := []string{"INBOX/2 seen=false", "INBOX/3 seen=true"}; !slices.Equal(left, want) {
		t.Errorf("after mutt read 3 and deleted 1, GraphQL lists %q, want %q", left, want)
	}
}
