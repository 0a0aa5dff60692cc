package httpapi

import (
	"bytes"
	"context"
	"image/gif"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/mail/track"
	"github.com/lightr-mail/lightr/server/db"
)

// trackEnv is a database with one queued message, and the tracking
// endpoints over it.
type trackEnv struct {
	db     *db.DB
	msg    *ent.OutboundMessage
	signer *track.Signer
	srv    *httptest.Server
}

func newTrackEnv(t *testing.T, maxEvents int) *trackEnv {
	t.Helper()
	admin := viewer.AdminContext(context.Background())
	d, err := db.Open(admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	must(t, err)
	t.Cleanup(func() { _ = d.Close() })
	org, err := d.Organization.Create().SetName("acme").Save(admin)
	must(t, err)
	dom, err := directory.CreateDomain(admin, d.Client, &org.ID, ent.CreateDomainInput{Name: "acme.test"})
	must(t, err)
	msg, err := outbox.Queue(rule.SystemContext(admin), d.Client, store.New(), &outbox.Message{
		Org: org.ID, Domain: dom.ID, MailFrom: "a@acme.test", Recipients: []string{"carol@remote.test"},
		Raw: []byte("Subject: x\r\n\r\nx\r\n"), Source: outboundmessage.SourceAPI,
	})
	must(t, err)
	sg, err := track.NewSigner(bytes.Repeat([]byte{3}, track.KeySize))
	must(t, err)
	mux := http.NewServeMux()
	registerTracking(mux, Options{
		Log: slog.New(slog.DiscardHandler),
		Tracking: TrackingOptions{
			Recorder:       &track.Recorder{Client: d.Client, Signer: sg, MaxEvents: maxEvents},
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
	})
	e := &trackEnv{db: d, msg: msg, signer: sg, srv: httptest.NewServer(mux)}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *trackEnv) url(t *testing.T, tok track.Token) string {
	t.Helper()
	tok.Message = e.msg.ID
	tok.Recipient = e.msg.Edges.Recipients[0].ID
	s, err := e.signer.Encode(tok)
	must(t, err)
	return e.srv.URL + "/t/" + string(tok.Kind) + "/" + s
}

// answer is what get read of a response.
type answer struct {
	StatusCode int
	Header     http.Header
}

// get fetches u without following redirects.
func get(t *testing.T, method, u string, hdr map[string]string) (answer, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	must(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	must(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return answer{resp.StatusCode, resp.Header}, b
}

// events returns the payloads of the message's events of type typ.
func (e *trackEnv) events(t *testing.T, typ string) []map[string]any {
	t.Helper()
	evs, err := e.db.Event.Query().Where(event.MessageID(e.msg.ID), event.Type(typ)).
		Order(ent.Asc(event.FieldSeq)).All(rule.SystemContext(context.Background()))
	must(t, err)
	out := make([]map[string]any, len(evs))
	for i, ev := range evs {
		if ev.Recipient != "carol@remote.test" {
			t.Errorf("event for %q", ev.Recipient)
		}
		out[i] = ev.Payload
	}
	return out
}

func TestTrackOpen(t *testing.T) {
	e := newTrackEnv(t, 0)
	u := e.url(t, track.Token{Kind: track.KindOpen})
	for i, xff := range []string{"203.0.113.9, 10.1.2.3", ""} {
		resp, body := get(t, http.MethodGet, u, map[string]string{
			"User-Agent": "Mail/1.0", "X-Forwarded-For": xff,
		})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
			t.Fatalf("hit %d: %d %s", i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Cache-Control") == "" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("cacheable pixel: %v", resp.Header)
		}
		img, err := gif.Decode(bytes.NewReader(body))
		must(t, err)
		if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
			t.Errorf("pixel of %v", b)
		}
	}
	// A HEAD (a link checker) is answered but not recorded.
	if resp, _ := get(t, http.MethodHead, u, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %d", resp.StatusCode)
	}
	evs := e.events(t, outbox.EventOpened)
	if len(evs) != 2 {
		t.Fatalf("%d open events, want 2", len(evs))
	}
	// 10.1.2.3 is not a trusted proxy, so it is the client: a client
	// cannot put a forged address before it.
	want := []map[string]any{
		{"first": true, "ip": "10.1.2.3", "user_agent": "Mail/1.0"},
		{"first": false, "ip": "127.0.0.1", "user_agent": "Mail/1.0"},
	}
	for i := range want {
		for k, v := range want[i] {
			if evs[i][k] != v {
				t.Errorf("event %d: %s = %v, want %v", i, k, evs[i][k], v)
			}
		}
	}
}

func TestTrackClick(t *testing.T) {
	e := newTrackEnv(t, 3)
	const dest = "https://example.com/a?b=1&c=%C3%A9#frag"
	u := e.url(t, track.Token{Kind: track.KindClick, URL: dest})
	other := e.url(t, track.Token{Kind: track.KindClick, URL: "http://example.org/"})
	for _, link := range []string{u, u, other, u, u} {
		resp, _ := get(t, http.MethodGet, link, nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("click: %d", resp.StatusCode)
		}
		if link == u && resp.Header.Get("Location") != dest {
			t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), dest)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
		}
	}
	// Three events at most; first per URL.
	evs := e.events(t, outbox.EventClicked)
	if len(evs) != 3 {
		t.Fatalf("%d click events, want 3 (max_events)", len(evs))
	}
	for i, want := range []struct {
		url   string
		first bool
	}{{dest, true}, {dest, false}, {"http://example.org/", true}} {
		if evs[i]["url"] != want.url || evs[i]["first"] != want.first {
			t.Errorf("event %d: %v, want url %s first %v", i, evs[i], want.url, want.first)
		}
	}
}

func TestTrackTampered(t *testing.T) {
	e := newTrackEnv(t, 0)
	open := e.url(t, track.Token{Kind: track.KindOpen})
	click := e.url(t, track.Token{Kind: track.KindClick, URL: "https://example.com/"})
	flip := func(u string) string {
		b := []byte(u)
		i := len(b) - 5
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	openAsClick := e.srv.URL + "/t/c/" + open[len(e.srv.URL+"/t/o/"):]
	for _, u := range []string{flip(open), flip(click), openAsClick, e.srv.URL + "/t/o/x", e.srv.URL + "/t/c/"} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			if resp, _ := get(t, m, u, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", m, u, resp.StatusCode)
			}
		}
	}
	// A message that no longer exists is not found either.
	must(t, e.db.OutboundMessage.DeleteOneID(e.msg.ID).Exec(rule.SystemContext(context.Background())))
	if resp, _ := get(t, http.MethodGet, click, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted message: %d", resp.StatusCode)
	}
	if n := len(e.events(t, outbox.EventOpened)) + len(e.events(t, outbox.EventClicked)); n != 0 {
		t.Errorf("%d events recorded", n)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
