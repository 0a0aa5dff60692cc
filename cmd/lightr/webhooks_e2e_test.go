package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pyReceiver is testdata/webhook_receiver.py, run by python3.
type pyReceiver struct {
	dir  string
	port int
	mu   sync.Mutex
	reqs []pyRequest
}

type pyRequest struct {
	Path, ID, Type, Event, Org string
	Status, Sigs               int
	Fresh                      bool
	Valid                      []bool
}

func startPyReceiver(t *testing.T, failFirst int) *pyReceiver {
	t.Helper()
	r := &pyReceiver{dir: t.TempDir()}
	r.setSecrets(t)
	cmd := exec.Command("/usr/bin/python3", "testdata/webhook_receiver.py", r.dir, strconv.Itoa(failFirst))
	out, err := cmd.StdoutPipe()
	check(t, err)
	check(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatal("receiver did not start")
	}
	r.port, err = strconv.Atoi(lines.Text())
	check(t, err)
	go func() {
		for lines.Scan() {
			var q pyRequest
			if json.Unmarshal(lines.Bytes(), &q) == nil {
				r.mu.Lock()
				r.reqs = append(r.reqs, q)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

func (r *pyReceiver) setSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	check(t, os.WriteFile(filepath.Join(r.dir, "SECRETS"), []byte(strings.Join(secrets, "\n")+"\n"), 0o600))
}

func (r *pyReceiver) requests() []pyRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pyRequest(nil), r.reqs...)
}

// waitFor waits until ok holds for the requests so far.
func (r *pyReceiver) waitFor(t *testing.T, what string, ok func([]pyRequest) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok(r.requests()) {
		if time.Now().After(deadline) {
			t.Fatalf("receiver: timed out waiting for %s; got %+v", what, r.requests())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delivered reports whether event reached path with a 2xx answer.
func delivered(reqs []pyRequest, path, event string) bool {
	for _, q := range reqs {
		if q.Path == path && q.Event == event && q.Status == 200 {
			return true
		}
	}
	return false
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gqlData runs a query and returns its data, failing on errors.
func gqlData(t *testing.T, addr, token, query string) map[string]any {
	t.Helper()
	res := curlGraphQL(t, addr, token, query)
	if res["errors"] != nil {
		t.Fatalf("%s: %v", query, res["errors"])
	}
	return res["data"].(map[string]any)
}

// sendLocal sends a message from alice (of acme.test unless address is
// given) to herself and returns the ids of
// the events it logged once it was delivered.
func sendLocal(t *testing.T, addr, token string, address ...string) []string {
	t.Helper()
	a := "alice@acme.test"
	if len(address) > 0 {
		a = address[0]
	}
	data := gqlData(t, addr, token, `mutation { sendEmail(input: {from: "`+a+`",
		to: ["`+a+`"], subject: "hi", text: "hello"}) { id } }`)
	id := data["sendEmail"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for {
		data = gqlData(t, addr, token, `{ node(id: "`+id+`") { ... on OutboundMessage { events { id type } } } }`)
		evs := data["node"].(map[string]any)["events"].([]any)
		var ids []string
		done := false
		for _, e := range evs {
			e := e.(map[string]any)
			ids = append(ids, e["id"].(string))
			done = done || e["type"] == "message.delivered"
		}
		if done {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not delivered: %v", id, evs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCLI_Webhooks drives lightr serve against a Python receiver that
// checks the Standard Webhooks signatures with its own hmac code.
func TestCLI_Webhooks(t *testing.T) {
	c := newCLI(t)
	c.ok("", "init")
	org := c.ok("", "add-org", "--name", "Acme")
	c.ok("", "add-domain", "--org", org, "--name", "acme.test")
	c.ok("correct horse battery staple\n", "add-account", "--domain", "acme.test",
		"--email", "alice@acme.test", "--password-stdin")
	token := c.ok("", "token", "--org", org)
	other := c.ok("", "add-org", "--name", "Other")
	c.ok("", "add-domain", "--org", other, "--name", "other.test")
	c.ok("", "add-account", "--domain", "other.test", "--email", "alice@other.test")
	otherToken := c.ok("", "token", "--org", other)
	c.env = append(c.env, "LIGHTR_WEBHOOKS_ALLOW_LOOPBACK=true", "LIGHTR_WEBHOOKS_ALLOW_HTTP=true",
		"LIGHTR_WEBHOOKS_RETRY_SCHEDULE=200ms", "LIGHTR_WEBHOOKS_POLL_INTERVAL=200ms",
		"LIGHTR_WEBHOOKS_DISABLE_AFTER_FAILURES=10", "LIGHTR_WEBHOOKS_DISABLE_AFTER=0s",
		"LIGHTR_OUTBOUND_POLL_INTERVAL=200ms")
	r := startPyReceiver(t, 2)
	base := "http://127.0.0.1:" + strconv.Itoa(r.port)

	stop, addr := serveStoppable(t, c)
	// Addresses inside the network are refused, without any connection.
	for _, u := range []string{"http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/"} {
		res := curlGraphQL(t, addr, token, `mutation { createWebhook(input: {url: "`+u+`"}) { secret } }`)
		if errs, _ := json.Marshal(res["errors"]); !strings.Contains(string(errs), "BAD_USER_INPUT") {
			t.Errorf("createWebhook %s: %v", u, res)
		}
	}
	data := gqlData(t, addr, token, `mutation { createWebhook(input: {url: "`+base+`/a"}) {
		webhook { id active } secret } }`)
	created := data["createWebhook"].(map[string]any)
	hookID := created["webhook"].(map[string]any)["id"].(string)
	secret := created["secret"].(string)
	gqlData(t, addr, token, `mutation { createWebhook(input: {url: "`+base+`/b",
		eventTypes: ["webhook.disabled"]}) { secret } }`)
	r.setSecrets(t, secret)

	// Every event arrives, after two 500s, with the same webhook-id.
	first := sendLocal(t, addr, token)
	sendLocal(t, addr, otherToken, "alice@other.test") // never reaches org's endpoint
	for _, e := range first {
		r.waitFor(t, "event "+e, func(q []pyRequest) bool { return delivered(q, "/a", e) })
	}
	attempts := map[string]int{}
	for _, q := range r.requests() {
		if q.Org != org {
			t.Fatalf("another organization's event arrived: %+v", q)
		}
		if q.Path == "/a" && (!q.Fresh || !q.Valid[0]) {
			t.Fatalf("signature or timestamp rejected by the Python receiver: %+v", q)
		}
		// Only the events waited for above: others (the copy's
		// message.received) may still be between their retries.
		if q.Path == "/a" && slices.Contains(first, q.Event) {
			attempts[q.ID]++
		}
	}
	if len(attempts) != len(first) {
		t.Errorf("%d deliveries of the %d events waited for", len(attempts), len(first))
	}
	for id, n := range attempts {
		if n != 3 {
			t.Errorf("delivery %s arrived %d times, want 3 (two 500s, then 200)", id, n)
		}
	}

	// Lightr restarts while a message's events wait: they arrive after.
	data = gqlData(t, addr, token, `mutation { sendEmail(input: {from: "alice@acme.test",
		to: ["alice@acme.test"], subject: "restart", text: "x"}) { id events { id } } }`)
	queued := data["sendEmail"].(map[string]any)["events"].([]any)[0].(map[string]any)["id"].(string)
	stop()
	stop, addr = serveStoppable(t, c)
	r.waitFor(t, "the event queued before the restart", func(q []pyRequest) bool {
		return delivered(q, "/a", queued)
	})

	// Rotation: both secrets sign for a while.
	data = gqlData(t, addr, token, `mutation { rotateWebhookSecret(id: "`+hookID+`") { secret } }`)
	rotated := data["rotateWebhookSecret"].(map[string]any)["secret"].(string)
	r.setSecrets(t, secret, rotated)
	next := sendLocal(t, addr, token)
	r.waitFor(t, "a delivery after rotation", func(q []pyRequest) bool { return delivered(q, "/a", next[0]) })
	for _, q := range r.requests() {
		if q.Event == next[0] && q.Path == "/a" && (q.Sigs != 2 || !q.Valid[0] || !q.Valid[1]) {
			t.Fatalf("during rotation: %+v", q)
		}
	}

	// testWebhook: a signed webhook.test delivery to /a alone (after its
	// two 500s); redeliverWebhookDelivery sends it again, same webhook-id.
	data = gqlData(t, addr, token, `mutation { testWebhook(id: "`+hookID+`") { id eventType status } }`)
	test := data["testWebhook"].(map[string]any)
	testID := test["id"].(string)
	if test["eventType"] != "webhook.test" || test["status"] != "pending" {
		t.Fatalf("testWebhook: %v", test)
	}
	sentOK := func(q []pyRequest) int {
		n := 0
		for _, x := range q {
			if x.ID == testID && x.Status == 200 {
				if x.Path != "/a" || x.Type != "webhook.test" || !x.Valid[0] || !x.Valid[1] {
					t.Fatalf("test delivery: %+v", x)
				}
				n++
			}
		}
		return n
	}
	r.waitFor(t, "the webhook.test delivery", func(q []pyRequest) bool { return sentOK(q) == 1 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := gqlData(t, addr, token, `{ node(id: "`+testID+`") { ... on WebhookDelivery { status } } }`)
		if d["node"].(map[string]any)["status"] == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("test delivery not recorded as delivered: %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	gqlData(t, addr, token, `mutation { redeliverWebhookDelivery(id: "`+testID+`") { id } }`)
	r.waitFor(t, "the redelivery", func(q []pyRequest) bool { return sentOK(q) == 2 })

	// An endpoint that keeps failing is disabled, says so, and gets nothing more.
	check(t, os.WriteFile(filepath.Join(r.dir, "FAILALL"), nil, 0o600))
	sendLocal(t, addr, token)
	r.waitFor(t, "webhook.disabled at /b", func(q []pyRequest) bool {
		for _, x := range q {
			if x.Path == "/b" && x.Type == "webhook.disabled" {
				return true
			}
		}
		return false
	})
	data = gqlData(t, addr, token, `{ node(id: "`+hookID+`") { ... on Webhook { active disabledAt
		deliveries(first: 100) { totalCount } } } }`)
	if node := data["node"].(map[string]any); node["active"] != false || node["disabledAt"] == nil {
		t.Fatalf("failing endpoint: %v", node)
	}
	before := len(r.requests())
	sendLocal(t, addr, token)
	time.Sleep(time.Second)
	for _, q := range r.requests()[before:] {
		if q.Path == "/a" {
			t.Fatalf("disabled endpoint received %+v", q)
		}
	}
	stop()
}

// serveStoppable starts lightr serve and returns a function that stops it
// (SIGINT, then waits for a clean exit) and its HTTP address.
func serveStoppable(t *testing.T, c *cli) (func(), string) {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Dir, cmd.Env = c.dir, c.env
	stderr, err := cmd.StderrPipe()
	check(t, err)
	check(t, cmd.Start())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			if err := cmd.Wait(); err != nil {
				t.Errorf("serve did not stop cleanly: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() {
				}
			}()
			return stop, m[1]
		}
	}
	t.Fatal("serve exited before listening")
	return nil, ""
}
