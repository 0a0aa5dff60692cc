package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
)

// debianPython is the interpreter with Debian's python3-dkim; the python3
// first on PATH may be another one.
const debianPython = "/usr/bin/python3"

// needTools fails the test when a client it drives is missing: .ci/run
// installs all of them, so a missing one is a broken set-up, not a skip.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test (bash .ci/run installs it)", tool)
		}
	}
}

// senderDomain publishes sender.test in a loopback DNS server the way a
// well-run domain does: SPF for 127.0.0.1, a DKIM key under selector
// "sel", and DMARC p=reject. It returns the server and the private key's
// PEM file, for python3-dkim to sign with.
func senderDomain(t *testing.T) (*resolvertest.Server, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sender.key")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}

	dns := resolvertest.Start(t)
	dns.AddTXT("sender.test.", 300, "v=spf1 ip4:127.0.0.1 -all")
	dns.AddTXT("sel._domainkey.sender.test.", 300, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(pub))
	dns.AddTXT("_dmarc.sender.test.", 300, "v=DMARC1; p=reject")
	return dns, keyFile
}

// swaks runs swaks against addr and returns its transcript and exit code.
func swaks(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	args = append([]string{"--server", addr, "--helo", "client.sender.test", "--timeout", "20"}, args...)
	out, err := exec.Command("swaks", args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !asExit(err, &ee) {
		t.Fatalf("swaks: %v", err)
	}
	if ee != nil {
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError) //nolint:errorlint // exec returns it unwrapped
	*ee = e
	return ok
}

// smtpReply is what testdata/smtpclient.py prints.
type smtpReply struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// python runs testdata/smtpclient.py and decodes its JSON answer.
func python(t *testing.T, args ...string) smtpReply {
	t.Helper()
	script, _ := filepath.Abs("testdata/smtpclient.py")
	out, err := exec.Command(debianPython, append([]string{script}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); asExit(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("smtpclient.py %v: %v\n%s", args[0], err, stderr)
	}
	var r smtpReply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("smtpclient.py printed %q: %v", out, err)
	}
	return r
}

// writeMessage writes an RFC 5322 message with CRLF line ends.
func writeMessage(t *testing.T, from, subject, body string) string {
	t.Helper()
	msg := "From: Bob <" + from + ">\r\nTo: Alice <alice@acme.test>\r\nSubject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@sender.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
	path := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSMTP_RealClients drives the MX of the real binary with swaks and
// Python's smtplib, senders authenticated through a loopback DNS server,
// and reads the result back through GraphQL with curl.
func TestSMTP_RealClients(t *testing.T) {
	needTools(t, "swaks", "curl", debianPython)
	dns, senderKey := senderDomain(t)

	c := newCLI(t)
	c.env = append(c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0", "LIGHTR_DNS_RESOLVER="+dns.Addr,
		"LIGHTR_SMTP_DOMAIN=mx.acme.test", "LIGHTR_SMTP_MAX_MESSAGE_BYTES=100000")
	c.ok("", "init")
	org := c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	c.ok("correct horse battery staple\n", "add-account", "--domain", "acme.test",
		"--email", "alice@acme.test", "--password-stdin")
	token := c.ok("", "token", "--org", org)
	httpAddr := c.serve(nil)
	mx := c.smtpAddr
	host, port, _ := strings.Cut(mx, ":")

	// swaks, plain and with STARTTLS: both accepted.
	if out, code := swaks(t, mx, "--to", "Alice+News@ACME.test", "--from", "bob@sender.test",
		"--h-From", "Bob <bob@sender.test>", "--h-Subject", "Plain swaks",
		"--body", "Hello Alice, this came over plain SMTP."); code != 0 ||
		!strings.Contains(out, "<-  250 2.0.0 OK") {
		t.Fatalf("swaks: exit %d\n%s", code, out)
	}
	if out, code := swaks(t, mx, "--tls", "--to", "alice@acme.test", "--from", "bob@sender.test",
		"--h-From", "bob@sender.test", "--h-Subject", "Secret swaks",
		"--body", "This one was encrypted."); code != 0 || !strings.Contains(out, "TLS started") {
		t.Fatalf("swaks --tls: exit %d\n%s", code, out)
	}

	// Refusals, each with its enhanced status code.
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"unknown recipient", "<** 550 5.1.1 ", []string{"--to", "nobody@acme.test"}},
		{"relay", "<** 554 5.7.1 ", []string{"--to", "carol@remote.test"}},
		{"oversize", "<** 552 5.3.4 ", []string{"--to", "alice@acme.test",
			"--body", strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef012345678\r\n", 2000)}},
	} {
		out, code := swaks(t, mx, append(tc.args, "--from", "bob@sender.test")...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want %q in\n%s", tc.name, code, tc.want, out)
		}
	}

	// smtplib with a python3-dkim signature: everything passes. The same
	// message with one body byte changed fails DKIM, and still passes
	// DMARC through aligned SPF.
	signedFile := writeMessage(t, "bob@sender.test", "Signed by dkimpy", "Signed body.\r\n")
	if r := python(t, "send", host, port, "bob@sender.test", "alice@acme.test", signedFile,
		"--dkim", senderKey, "sender.test", "sel"); r.Code != 250 {
		t.Fatalf("signed message: %+v", r)
	}
	signed, err := exec.Command(debianPython, "testdata/smtpclient.py", "sign",
		writeMessage(t, "bob@sender.test", "Tampered after signing", "Signed body.\r\n"),
		senderKey, "sender.test", "sel").Output()
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(signed, []byte("Signed body."), []byte("Signed bodY."), 1)
	tamperedFile := filepath.Join(t.TempDir(), "tampered.eml")
	if err := os.WriteFile(tamperedFile, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := python(t, "send", host, port, "bob@sender.test", "alice@acme.test", tamperedFile); r.Code != 250 {
		t.Fatalf("tampered message: %+v", r)
	}

	// Failing DMARC under p=reject: the domain's default files it in Junk.
	if out, code := swaks(t, mx, "--to", "alice@acme.test", "--from", "bounce@elsewhere.test",
		"--h-From", "bob@sender.test", "--h-Subject", "Spoofed", "--body", "Not really Bob."); code != 0 {
		t.Fatalf("spoofed message: exit %d\n%s", code, out)
	}

	// A bare LF in the data is refused, and the smuggled message with it.
	smuggle := filepath.Join(t.TempDir(), "smuggle.eml")
	if err := os.WriteFile(smuggle, []byte("Subject: first\r\n\r\nbody\n.\n"+
		"MAIL FROM:<admin@acme.test>\r\nRCPT TO:<alice@acme.test>\r\nDATA\r\n"+
		"Subject: smuggled\r\n\r\nevil\r\n.\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := python(t, "raw", host, port, smuggle); r.Code != 554 || !strings.HasPrefix(r.Msg, "5.5.2 ") {
		t.Errorf("bare LF: %+v, want 554 5.5.2", r)
	}

	checkDelivered(t, httpAddr, token)
}

// checkDelivered reads the delivered messages back through GraphQL.
func checkDelivered(t *testing.T, httpAddr, token string) {
	t.Helper()
	res := curlGraphQL(t, httpAddr, token, `{ messages(orderBy: {field: INTERNAL_DATE, direction: ASC}) {
		edges { node { subject fromAddress preview spfResult dkimResult dmarcResult authResults
			mailbox { name } account { email } } } } }`)
	type node struct {
		Subject, FromAddress, Preview, SpfResult, DkimResult, DmarcResult, AuthResults string
		Mailbox                                                                        struct{ Name string }
		Account                                                                        struct{ Email string }
	}
	var got struct {
		Data struct {
			Messages struct {
				Edges []struct{ Node node }
			}
		}
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []struct{ subject, mailbox, spf, dkim, dmarc string }{
		{"Plain swaks", "INBOX", "pass", "none", "pass"},
		{"Secret swaks", "INBOX", "pass", "none", "pass"},
		{"Signed by dkimpy", "INBOX", "pass", "pass", "pass"},
		{"Tampered after signing", "INBOX", "pass", "fail", "pass"},
		{"Spoofed", "Junk", "none", "none", "fail"},
	}
	edges := got.Data.Messages.Edges
	if len(edges) != len(want) {
		t.Fatalf("GraphQL lists %d messages, want %d: %s", len(edges), len(want), b)
	}
	for i, w := range want {
		n := edges[i].Node
		if n.Subject != w.subject || n.Mailbox.Name != w.mailbox || n.SpfResult != w.spf ||
			n.DkimResult != w.dkim || n.DmarcResult != w.dmarc || n.Account.Email != "alice@acme.test" {
			t.Errorf("message %d: %+v, want %+v", i, n, w)
		}
		if !strings.HasPrefix(n.AuthResults, "mx.acme.test;") ||
			!strings.Contains(n.AuthResults, "spf="+w.spf) || !strings.Contains(n.AuthResults, "dkim="+w.dkim) {
			t.Errorf("message %d: Authentication-Results %q", i, n.AuthResults)
		}
	}
	const wantPreview = "Hello Alice, this came over plain SMTP."
	if n := edges[0].Node; n.FromAddress != "bob@sender.test" || n.Preview != wantPreview {
		t.Errorf("first message: from %q, preview %q", n.FromAddress, n.Preview)
	}
}
