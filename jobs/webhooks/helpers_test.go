package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/jobs/webhooks"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/server/db"
)

// loopback is the policy of the tests: receivers listen on 127.0.0.1.
var loopback = webhooks.Policy{AllowLoopback: true, AllowHTTP: true}

// fixture is a fresh database with two organizations, a and b, each with
// a domain, and a hub.
type fixture struct {
	c          *ent.Client
	hub        *notify.Hub
	orgA, orgB pulid.ID
	domA, domB pulid.ID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	admin := viewer.AdminContext(context.Background())
	d, err := db.Open(admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	check(t, err)
	t.Cleanup(func() { _ = d.Close() })
	f := &fixture{c: d.Client, hub: notify.New()}
	for i, name := range []string{"a.example", "b.example"} {
		o, err := f.c.Organization.Create().SetName(name).Save(admin)
		check(t, err)
		dom, err := directory.CreateDomain(admin, f.c, &o.ID, ent.CreateDomainInput{Name: name})
		check(t, err)
		if i == 0 {
			f.orgA, f.domA = o.ID, dom.ID
		} else {
			f.orgB, f.domB = o.ID, dom.ID
		}
	}
	return f
}

// as returns the context of org's viewer with the write scope.
func as(org pulid.ID) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindOrg, OrgID: org, Scopes: []viewer.Scope{viewer.ScopeWrite},
	})
}

// event appends an event to org's log and publishes it.
func (f *fixture) event(t testing.TB, org, dom pulid.ID, typ string) *ent.Event {
	t.Helper()
	e, err := f.c.Event.Create().SetOrganizationID(org).SetDomainID(dom).SetType(typ).
		SetRecipient("bob@" + string(dom)).SetPayload(map[string]any{"n": 1}).
		Save(rule.SystemContext(context.Background()))
	check(t, err)
	f.hub.PublishEvents(org)
	return e
}

// run starts a dispatcher with o (fast retries unless set) until the test
// ends.
func (f *fixture) run(t testing.TB, o webhooks.Options) *webhooks.Dispatcher {
	t.Helper()
	if o.Schedule == nil {
		o.Schedule = []time.Duration{20 * time.Millisecond}
	}
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	o.Policy, o.Notify, o.Timeout = loopback, f.hub, 5*time.Second
	d := webhooks.New(f.c, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return d
}

// request is what a receiver got.
type request struct {
	id, timestamp, signature string
	body                     []byte
	env                      webhooks.Envelope
}

// receiver is a loopback endpoint; answer picks the status of each
// request (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	answer func(n int) int
	notify chan struct{}
}

func newReceiver(t testing.TB, answer func(n int) int) *receiver {
	t.Helper()
	r := &receiver{answer: answer, notify: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		q := request{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body}
		_ = json.Unmarshal(body, &q.env)
		r.mu.Lock()
		r.got = append(r.got, q)
		n := len(r.got)
		r.mu.Unlock()
		code := http.StatusOK
		if r.answer != nil {
			code = r.answer(n)
		}
		w.WriteHeader(code)
		r.notify <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait waits until the receiver got n requests and returns them.
func (r *receiver) wait(t testing.TB, n int) []request {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]request(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", len(got), n)
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// verify checks q's signature with secret, as a receiver would.
func verify(t testing.TB, secret string, q request) {
	t.Helper()
	ts, err := strconv.ParseInt(q.timestamp, 10, 64)
	check(t, err)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Minute || d > 5*time.Minute {
		t.Errorf("webhook-timestamp %s is %v off", q.timestamp, d)
	}
	if !webhooks.Verify(secret, q.id, ts, q.body, q.signature) {
		t.Errorf("signature %q does not verify for %s", q.signature, q.id)
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type netConn = net.Conn

func pulidOf(s string) pulid.ID { return pulid.ID(s) }
