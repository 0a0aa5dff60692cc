package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/ent/webhookdelivery"
	"github.com/lightr-mail/lightr/jobs/webhooks"
	"github.com/lightr-mail/lightr/mail/directory"
)

// The example of the Standard Webhooks test suites.
func TestSign_SpecVector(t *testing.T) {
	got, err := webhooks.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		1614265330, []byte(`{"test": 2432232314}`))
	check(t, err)
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	s := webhooks.NewSecret()
	if !strings.HasPrefix(s, "whsec_") || len(s) < 6+32 {
		t.Fatalf("NewSecret = %q", s)
	}
}

func TestDispatcher_DeliversSignedEvents(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, nil)
	w, secret, err := webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL + "/hook"})
	check(t, err)
	f.run(t, webhooks.Options{})

	var want []*ent.Event
	for _, typ := range []string{"message.received", "message.queued", "message.delivered"} {
		want = append(want, f.event(t, f.orgA, f.domA, typ))
	}
	f.event(t, f.orgB, f.domB, "message.received") // another tenant's: never sent
	got := r.wait(t, 3)
	time.Sleep(200 * time.Millisecond)
	if n := r.count(); n != 3 {
		t.Fatalf("receiver got %d requests, want 3", n)
	}
	seen := map[string]bool{}
	for _, q := range got {
		verify(t, secret, q)
		if !strings.HasPrefix(q.id, "whd_") {
			t.Errorf("webhook-id %q", q.id)
		}
		seen[q.env.Data.ID] = true
		if q.env.Data.OrganizationID != string(f.orgA) || q.env.Data.Cursor == 0 ||
			q.env.Data.Recipient == nil || q.env.Data.Payload["n"] != float64(1) {
			t.Errorf("envelope %s", q.body)
		}
	}
	for _, e := range want {
		if !seen[string(e.ID)] {
			t.Errorf("event %s (%s) not delivered", e.ID, e.Type)
		}
	}

	// The log records each delivery.
	deliveries, err := w.QueryDeliveries().All(as(f.orgA))
	check(t, err)
	for _, d := range deliveries {
		if d.Status != webhookdelivery.StatusDelivered || d.ResponseCode != 200 || d.Attempts != 1 {
			t.Errorf("delivery %s: %s code %d attempts %d", d.ID, d.Status, d.ResponseCode, d.Attempts)
		}
	}
}

func TestDispatcher_RetriesWithSameID(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	_, secret, err := webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL})
	check(t, err)
	f.run(t, webhooks.Options{})
	f.event(t, f.orgA, f.domA, "message.bounced")

	got := r.wait(t, 3)
	for _, q := range got {
		verify(t, secret, q)
		if q.id != got[0].id || string(q.body) != string(got[0].body) {
			t.Errorf("retry changed the delivery: %s %s vs %s %s", q.id, q.body, got[0].id, got[0].body)
		}
	}
	d := waitDelivery(t, f, got[0].id, webhookdelivery.StatusDelivered)
	if d.Attempts != 3 || d.ResponseCode != 204 {
		t.Errorf("delivery after retries: attempts %d code %d", d.Attempts, d.ResponseCode)
	}
}

func TestDispatcher_FiltersTypesAndDomain(t *testing.T) {
	f := newFixture(t)
	admin := viewer.AdminContext(context.Background())
	other, err := directory.CreateDomain(admin, f.c, &f.orgA, ent.CreateDomainInput{Name: "c.example"})
	check(t, err)
	r := newReceiver(t, nil)
	_, _, err = webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{
		URL: r.URL, EventTypes: []string{"message.delivered"}, DomainID: &f.domA,
	})
	check(t, err)
	f.run(t, webhooks.Options{})
	f.event(t, f.orgA, f.domA, "message.received")
	f.event(t, f.orgA, other.ID, "message.delivered")
	want := f.event(t, f.orgA, f.domA, "message.delivered")
	got := r.wait(t, 1)
	time.Sleep(200 * time.Millisecond)
	if r.count() != 1 || got[0].env.Data.ID != string(want.ID) {
		t.Fatalf("got %d requests, first %s; want only %s", r.count(), got[0].body, want.ID)
	}

	// Another organization's domain is no filter at all.
	_, _, err = webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL, DomainID: &f.domB})
	if !isInput(err) {
		t.Fatalf("a webhook on another organization's domain: %v", err)
	}
}

func TestDispatcher_DisablesFailingEndpoint(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	w, _, err := webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL})
	check(t, err)
	r2 := newReceiver(t, nil) // a healthy endpoint of the same organization
	_, _, err = webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r2.URL})
	check(t, err)
	f.run(t, webhooks.Options{DisableAfterFailures: 3})
	f.event(t, f.orgA, f.domA, "message.deferred")
	r.wait(t, 3)

	sys := rule.SystemContext(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, err = f.c.Webhook.Get(sys, w.ID)
		check(t, err)
		if !w.Active || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w.Active || w.DisabledAt == nil {
		t.Fatalf("endpoint still active after %d failures", w.ConsecutiveFailures)
	}
	n, err := f.c.Event.Query().Where(event.Type("webhook.disabled"), event.OrganizationID(f.orgA)).Count(sys)
	check(t, err)
	if n != 1 {
		t.Fatalf("%d webhook.disabled events", n)
	}
	// The healthy endpoint hears of it; the disabled one hears nothing more.
	got := r2.wait(t, 2)
	if got[1].env.Type != "webhook.disabled" && got[0].env.Type != "webhook.disabled" {
		t.Errorf("healthy endpoint got %s and %s", got[0].env.Type, got[1].env.Type)
	}
	before := r.count()
	f.event(t, f.orgA, f.domA, "message.delivered")
	r2.wait(t, 3)
	time.Sleep(200 * time.Millisecond)
	if r.count() != before {
		t.Fatalf("disabled endpoint got %d more requests", r.count()-before)
	}
}

func TestRotate_SignsWithBothSecrets(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, nil)
	w, old, err := webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL})
	check(t, err)
	_, secret, err := webhooks.Rotate(as(f.orgA), f.c, w.ID, time.Hour, time.Now())
	check(t, err)
	if secret == old {
		t.Fatal("rotation kept the secret")
	}
	f.run(t, webhooks.Options{})
	f.event(t, f.orgA, f.domA, "message.queued")
	q := r.wait(t, 1)[0]
	verify(t, secret, q)
	verify(t, old, q)
	if n := len(strings.Fields(q.signature)); n != 2 {
		t.Errorf("%d signatures during rotation: %q", n, q.signature)
	}
}

func TestPolicy_RefusesInternalAddresses(t *testing.T) {
	strict := webhooks.Policy{}
	for _, u := range []string{
		"http://example.com/", // http
		"https://10.0.0.1/", "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/",
		"https://127.0.0.1/", "https://localhost/", "https://api.localhost/", "https://[::1]/",
		"https://100.64.1.1/", "https://192.168.1.1/", "https://[fe80::1]/", "https://0.0.0.0/",
		"https://[::ffff:10.0.0.1]/", "https://224.0.0.1/", "ftp://example.com/", "https://u:p@example.com/",
	} {
		if err := strict.CheckURL(u); err == nil {
			t.Errorf("CheckURL(%s) allowed", u)
		}
	}
	if err := strict.CheckURL("https://hooks.example.com/x?y=1"); err != nil {
		t.Errorf("public URL refused: %v", err)
	}
	private := webhooks.Policy{AllowPrivate: true}
	if err := private.CheckURL("https://10.0.0.1/"); err != nil {
		t.Errorf("allow_private refused 10.0.0.1: %v", err)
	}
	if err := private.CheckAddr(netip.MustParseAddr("169.254.169.254")); err == nil {
		t.Error("allow_private allowed the metadata address")
	}

	f := newFixture(t)
	_, _, err := webhooks.Create(as(f.orgA), f.c, strict, ent.CreateWebhookInput{URL: "https://10.0.0.1/"})
	if !isInput(err) {
		t.Fatalf("Create with 10.0.0.1: %v", err)
	}
}

// A name that resolves to loopback is refused when dialed, before any
// connection: the receiver sees none.
func TestHTTPClient_RefusesAtDial(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ netConn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := webhooks.NewHTTPClient(webhooks.Policy{AllowHTTP: true}, 2*time.Second)
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	resp, err := c.Post(url, "application/json", strings.NewReader("{}"))
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("request to loopback went through")
	}
	if !errors.Is(err, webhooks.ErrRefusedAddress) {
		t.Fatalf("error %v, want ErrRefusedAddress", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("receiver saw %d connections", n)
	}
}

func waitDelivery(t testing.TB, f *fixture, id string, status webhookdelivery.Status) *ent.WebhookDelivery {
	t.Helper()
	sys := rule.SystemContext(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := f.c.WebhookDelivery.Query().Where(webhookdelivery.ID(pulidOf(id))).Only(sys)
		check(t, err)
		if d.Status == status || time.Now().After(deadline) {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isInput(err error) bool {
	var ie *directory.InputError
	return errors.As(err, &ie)
}

// TestTestAndRedeliver: Test sends a signed webhook.test to the one
// endpoint; Redeliver sends a finished delivery again with the same
// webhook-id and body; neither reaches another organization's webhook,
// and an inactive webhook refuses both.
func TestTestAndRedeliver(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, nil)
	w, secret, err := webhooks.Create(as(f.orgA), f.c, loopback, ent.CreateWebhookInput{URL: r.URL})
	check(t, err)
	d := f.run(t, webhooks.Options{})

	td, err := webhooks.Test(as(f.orgA), f.c, w.ID, time.Now())
	check(t, err)
	d.Wake()
	got := r.wait(t, 1)
	verify(t, secret, got[0])
	if got[0].id != string(td.ID) || got[0].env.Type != webhooks.EventTest ||
		got[0].env.Data.Payload["webhookId"] != string(w.ID) || got[0].env.Data.OrganizationID != string(f.orgA) {
		t.Fatalf("test delivery %s: %s", got[0].id, got[0].body)
	}
	waitDelivery(t, f, string(td.ID), webhookdelivery.StatusDelivered)

	again, err := webhooks.Redeliver(as(f.orgA), f.c, td.ID, time.Now())
	check(t, err)
	if again.Status != webhookdelivery.StatusPending || again.Attempts != 0 {
		t.Errorf("redelivered: %s, %d attempts", again.Status, again.Attempts)
	}
	d.Wake()
	got = r.wait(t, 2)
	if got[1].id != got[0].id || string(got[1].body) != string(got[0].body) {
		t.Errorf("redelivery differs: %s %s vs %s %s", got[1].id, got[1].body, got[0].id, got[0].body)
	}

	// Another organization sees neither the webhook nor the delivery.
	if _, err := webhooks.Test(as(f.orgB), f.c, w.ID, time.Now()); !ent.IsNotFound(err) {
		t.Errorf("other organization's Test: %v", err)
	}
	if _, err := webhooks.Redeliver(as(f.orgB), f.c, td.ID, time.Now()); !ent.IsNotFound(err) {
		t.Errorf("other organization's Redeliver: %v", err)
	}
	off := false
	_, err = webhooks.Update(as(f.orgA), f.c, loopback, w.ID, ent.UpdateWebhookInput{Active: &off})
	check(t, err)
	if _, err := webhooks.Test(as(f.orgA), f.c, w.ID, time.Now()); !isInput(err) {
		t.Errorf("Test of an inactive webhook: %v", err)
	}
	if _, err := webhooks.Redeliver(as(f.orgA), f.c, td.ID, time.Now()); !isInput(err) {
		t.Errorf("Redeliver to an inactive webhook: %v", err)
	}
}
