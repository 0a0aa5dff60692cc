package main

import (
	"bufio"
	"database/sql"
	"encoding/base64"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The accounts of the submission end-to-end test.
const (
	subUser = "alice@acme.test"
	subPass = "correct horse battery staple"
)

// subEnv is a served organization acme.test with accounts alice and bob
// and an API key with the send scope.
type subEnv struct {
	c               *cli
	httpAddr, token string
	key             string
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	needTools(t, "swaks", "curl")
	c := newCLI(t)
	c.env = append(c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0")
	c.ok("", "init")
	org := c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	c.ok(subPass+"\n", "add-account", "--domain", "acme.test", "--email", subUser, "--password-stdin")
	c.ok(subPass+"\n", "add-account", "--domain", "acme.test", "--email", "bob@acme.test", "--password-stdin")
	e := &subEnv{c: c, token: c.ok("", "token", "--org", org)}
	e.httpAddr = c.serve(nil)
	if c.submissionAddr == "" || c.submissionsAddr == "" {
		t.Fatalf("submission addresses not logged: %q %q", c.submissionAddr, c.submissionsAddr)
	}
	var res struct {
		Data struct{ CreateAPIKey struct{ Secret string } }
	}
	graphQL(t, e.httpAddr, e.token,
		`mutation { createAPIKey(input: {name: "app", scopes: ["send"]}) { secret } }`, &res)
	e.key = res.Data.CreateAPIKey.Secret
	return e
}

// submit runs swaks against addr with the message options args.
func (e *subEnv) submit(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	return swaks(t, addr, append([]string{"--helo", "laptop.acme.test"}, args...)...)
}

// queued returns the subjects of the messages queued by submission.
func (e *subEnv) queued(t *testing.T) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.c.dir+"/data/lightr.db?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`SELECT subject FROM outbound_messages WHERE source = 'submission' ORDER BY subject`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSubmission_Swaks submits with swaks over STARTTLS and implicit
// TLS, with an account's password and with an API key, and checks the
// refusals by their codes and that the accepted messages were queued.
func TestSubmission_Swaks(t *testing.T) {
	e := newSubEnv(t)
	alice := []string{"--auth-user", subUser, "--auth-password", subPass, "--from", subUser}

	// Port 587 style: STARTTLS, then AUTH PLAIN with the account's password;
	// one local and one remote recipient.
	out, code := e.submit(t, e.c.submissionAddr, append([]string{"--tls", "--auth", "PLAIN",
		"--to", "bob@acme.test,carol@remote.test", "--h-Subject", "Via 587"}, alice...)...)
	if code != 0 || !strings.Contains(out, "<~  250 2.0.0") {
		t.Fatalf("STARTTLS submission: exit %d\n%s", code, out)
	}

	// Port 465 style: TLS from the first byte, AUTH LOGIN with the API key.
	out, code = e.submit(t, e.c.submissionsAddr, "--tls-on-connect", "--auth", "LOGIN",
		"--auth-user", "apikey", "--auth-password", e.key,
		"--from", "news@acme.test", "--to", "carol@remote.test", "--h-From", "news@acme.test",
		"--h-Subject", "Via 465")
	if code != 0 || !strings.Contains(out, "<~* 250 2.0.0") && !strings.Contains(out, "<~  250 2.0.0") {
		t.Fatalf("implicit TLS submission: exit %d\n%s", code, out)
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"no AUTH", []string{"--tls", "--from", subUser, "--to", "carol@remote.test"}, "530 5.7.0"},
		{"wrong password", []string{"--tls", "--auth", "PLAIN", "--auth-user", subUser,
			"--auth-password", "wrong", "--from", subUser, "--to", "carol@remote.test"}, "535 5.7.8"},
		{"another account's address", append([]string{"--tls", "--auth", "PLAIN", "--to", "carol@remote.test"},
			append(slices.Clone(alice[:4]), "--from", "bob@acme.test")...), "550 5.7.1"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			out, code := e.submit(t, e.c.submissionAddr, tc.args...)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want a failure with %s:\n%s", code, tc.want, out)
			}
		})
	}

	// swaks will not send AUTH that the server did not advertise, so a
	// plain connection asks for it by hand.
	t.Run("AUTH before STARTTLS", func(t *testing.T) {
		if got := authWithoutTLS(t, e.c.submissionAddr); !strings.HasPrefix(got, "538 5.7.11") {
			t.Errorf("AUTH before STARTTLS: %q, want 538 5.7.11", got)
		}
	})

	if got, want := e.queued(t), []string{"Via 465", "Via 587"}; !slices.Equal(got, want) {
		t.Errorf("queued subjects %q, want %q", got, want)
	}

	// The outbound worker delivers the local recipient like inbound mail.
	deadline := time.Now().Add(20 * time.Second)
	for !e.delivered(t, "Via 587") {
		if time.Now().After(deadline) {
			t.Fatal("the submitted message did not reach bob's INBOX within 20s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// delivered reports whether a message with subject is in an INBOX.
func (e *subEnv) delivered(t *testing.T, subject string) bool {
	t.Helper()
	var res struct {
		Data struct {
			Messages struct {
				Edges []struct {
					Node struct {
						Subject string
						Mailbox struct{ Name string }
					}
				}
			}
		}
	}
	graphQL(t, e.httpAddr, e.token, `{ messages(first: 100) { edges { node { subject mailbox { name } } } } }`, &res)
	for _, edge := range res.Data.Messages.Edges {
		if edge.Node.Subject == subject && edge.Node.Mailbox.Name == "INBOX" {
			return true
		}
	}
	return false
}

// authWithoutTLS sends AUTH PLAIN on a plain connection and returns the
// reply.
func authWithoutTLS(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func() string {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(line) < 4 || line[3] != '-' {
				return strings.TrimSpace(line)
			}
			if strings.Contains(line, "AUTH") {
				t.Errorf("AUTH advertised without TLS: %q", line)
			}
		}
	}
	reply()
	_, _ = conn.Write([]byte("EHLO laptop.acme.test\r\n"))
	reply()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + subUser + "\x00" + subPass))
	_, _ = conn.Write([]byte("AUTH PLAIN " + plain + "\r\n"))
	return reply()
}
