package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// binary is the lightr binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lightr-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "lightr")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		panic("build lightr: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs lightr commands in one working directory, like a user would.
type cli struct {
	t   *testing.T
	dir string
	env []string
	// smtpAddr and imapAddr are the addresses the last serve bound, and
	// submissionAddr (STARTTLS) and submissionsAddr (implicit TLS) those
	// of message submission.
	smtpAddr, imapAddr              string
	submissionAddr, submissionsAddr string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	// A clean environment: no LIGHTR_* variables from the caller leak in.
	// Listeners other than the one a test names go on a free loopback port.
	// DNS goes to a loopback port where nothing listens, so that a test
	// that names no DNS server of its own never asks the real DNS.
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"LIGHTR_SMTP_ADDR=127.0.0.1:0", "LIGHTR_IMAP_ADDR=127.0.0.1:0",
		"LIGHTR_SUBMISSION_ADDR=127.0.0.1:0", "LIGHTR_SUBMISSION_TLS_ADDR=127.0.0.1:0",
		"LIGHTR_DNS_RESOLVER=127.0.0.1:9"}
	return &cli{t: t, dir: t.TempDir(), env: env}
}

// run runs lightr with args and stdin, returning stdout, stderr and the
// exit code.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("lightr %v: %v", args, err)
	}
	return strings.TrimSpace(out.String()), errb.String(), code
}

// ok runs lightr and fails the test unless it exits 0.
func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("lightr %v: exit %d\n%s", args, code, errs)
	}
	return out
}

// serve starts `lightr serve` and returns the HTTP address it bound; the
// SMTP address goes to c.smtpAddr.
func (c *cli) serve(extraEnv []string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Dir, cmd.Env = c.dir, append(slices.Clone(c.env), extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				c.t.Errorf("serve did not stop cleanly on SIGINT: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			c.t.Error("serve did not stop within 10s of SIGINT")
		}
	})
	addrRE := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	smtpRE := regexp.MustCompile(`msg="smtp listening" addr=(\S+)`)
	imapRE := regexp.MustCompile(`msg="imap listening" addr=(\S+)`)
	subRE := regexp.MustCompile(`msg="submission listening" addr=(\S+)`)
	subsRE := regexp.MustCompile(`msg="submissions listening" addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	deadline := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		if m := smtpRE.FindStringSubmatch(lines.Text()); m != nil {
			c.smtpAddr = m[1]
		}
		if m := imapRE.FindStringSubmatch(lines.Text()); m != nil {
			c.imapAddr = m[1]
		}
		if m := subRE.FindStringSubmatch(lines.Text()); m != nil {
			c.submissionAddr = m[1]
		}
		if m := subsRE.FindStringSubmatch(lines.Text()); m != nil {
			c.submissionsAddr = m[1]
		}
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep draining stderr so the server never blocks on it
				for lines.Scan() {
				}
			}()
			return m[1]
		}
	}
	c.t.Fatal("serve exited before listening")
	return ""
}

// curlGraphQL posts a query with curl, a real HTTP client.
func curlGraphQL(t *testing.T, addr, token, query string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	out, err := exec.Command("curl", "-sS", "--max-time", "10",
		"-H", "Authorization: Bearer "+token, "-H", "Content-Type: application/json",
		"--data-binary", string(body), "http://"+addr+"/graphql").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return res
}

// TestCLI_Walkthrough follows the README as a new user would: init, create
// an organization with a domain, DKIM key and account, get a token, serve,
// and query the API with curl.
func TestCLI_Walkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for this test (apt-get install curl)")
	}
	c := newCLI(t)
	out := c.ok("", "init")
	if !strings.Contains(out, "admin API key") || !strings.Contains(out, "lr_") {
		t.Fatalf("init output lacks the admin key:\n%s", out)
	}
	if _, errs, code := c.run("", "init"); code == 0 || !strings.Contains(errs, "--force") {
		t.Fatalf("second init: exit %d, %q; want a refusal naming --force", code, errs)
	}

	org := c.ok("", "add-org", "--name", "Acme")
	if !strings.HasPrefix(org, "org_") || strings.ContainsAny(org, " \n") {
		t.Fatalf("add-org printed %q, want only the id", org)
	}
	dom := c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	record := c.ok("", "dkim-gen", "--domain", "acme.test")
	if !strings.HasPrefix(record, "default._domainkey.acme.test.") ||
		!strings.Contains(record, "v=DKIM1; k=rsa; p=") {
		t.Fatalf("dkim-gen printed %q", record)
	}
	acc := c.ok("correct horse battery staple\n", "add-account", "--domain", "acme.test",
		"--email", "alice@acme.test", "--password-stdin")
	if !strings.HasPrefix(acc, "acc_") {
		t.Fatalf("add-account printed %q", acc)
	}

	// A second organization whose rows the token must not see.
	other := c.ok("", "add-org", "--name", "Other")
	c.ok("", "add-domain", "--org", other, "--name", "other.test")
	var otherAcc map[string]any
	raw := c.ok("", "add-account", "--domain", "other.test", "--email", "bob@other.test", "--json")
	if err := json.Unmarshal([]byte(raw), &otherAcc); err != nil || otherAcc["email"] != "bob@other.test" {
		t.Fatalf("add-account --json printed %q: %v", raw, err)
	}
	if _, ok := otherAcc["password_hash"]; ok {
		t.Fatal("--json output includes the password hash")
	}

	token := c.ok("", "token", "--org", org)
	addr := c.serve(nil)
	res := curlGraphQL(t, addr, token,
		`{ domains { edges { node { id name } } } accounts { edges { node { id email } } } }`)
	got, _ := json.Marshal(res)
	want := `{"data":{"accounts":{"edges":[{"node":{"email":"alice@acme.test","id":"` + acc +
		`"}}]},"domains":{"edges":[{"node":{"id":"` + dom + `","name":"acme.test"}}]}}}`
	if string(got) != want {
		t.Fatalf("GraphQL answered\n%s\nwant\n%s", got, want)
	}
}

// TestCLI_ConfigPrecedence checks that LIGHTR_* variables override the file
// and flags override both, and that a bad file stops the start naming the
// key.
func TestCLI_ConfigPrecedence(t *testing.T) {
	c := newCLI(t)
	c.ok("", "init")

	c.env = append(c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0", "LIGHTR_LOG_FORMAT=json")
	show := func(args ...string) (httpAddr, logFormat any) {
		t.Helper()
		var shown struct {
			HTTP map[string]any `json:"http"`
			Log  map[string]any `json:"log"`
		}
		out := c.ok("", append([]string{"config", "show"}, args...)...)
		if err := json.Unmarshal([]byte(out), &shown); err != nil {
			t.Fatalf("config show printed %q: %v", out, err)
		}
		return shown.HTTP["addr"], shown.Log["format"]
	}
	if addr, format := show(); addr != "127.0.0.1:0" || format != "json" {
		t.Fatalf("environment did not override the file: addr %v, format %v", addr, format)
	}
	if addr, _ := show("--http-addr", "127.0.0.2:9"); addr != "127.0.0.2:9" {
		t.Fatalf("flag did not override the environment: %v", addr)
	}

	c.env = c.env[:2] // drop the LIGHTR_* variables: the bad files must decide
	for name, yaml := range map[string]string{
		"http.adress":   "http:\n  adress: 127.0.0.1:1\n", //nolint:misspell // the typo is the test
		"http.addr":     "http:\n  addr: no-port\n",
		"log.level":     "log:\n  level: loud\n",
		"dkim.key_bits": "dkim:\n  key_bits: 1000\n",
	} {
		path := filepath.Join(c.dir, "bad.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs, code := c.run("", "serve", "--config", path)
		if code == 0 || !strings.Contains(errs, name) {
			t.Errorf("%s: exit %d, stderr %q; want a failure naming the key", name, code, errs)
		}
	}
}

// TestCLI_Errors checks that mistakes exit non-zero with advice on stderr.
func TestCLI_Errors(t *testing.T) {
	c := newCLI(t)
	if _, errs, code := c.run("", "add-org", "--name", "x"); code == 0 ||
		!strings.Contains(errs, "lightr init") {
		t.Errorf("before init: exit %d, %q; want advice to run lightr init", code, errs)
	}
	c.ok("", "init")
	if _, errs, code := c.run("", "add-domain", "--org", "org_01jzzzzzzzzzzzzzzzzzzzzzzz",
		"--name", "x.test"); code == 0 || errs == "" {
		t.Errorf("unknown org: exit %d, %q", code, errs)
	}
	org := c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	if _, errs, code := c.run("", "add-domain", "--org", org, "--name", "ACME.test."); code == 0 ||
		!strings.Contains(errs, "already") {
		t.Errorf("duplicate domain: exit %d, %q", code, errs)
	}
	if _, errs, code := c.run("", "add-account", "--domain", "acme.test",
		"--email", "bad address@acme.test"); code == 0 || !strings.Contains(errs, "local part") {
		t.Errorf("bad address: exit %d, %q", code, errs)
	}
}
