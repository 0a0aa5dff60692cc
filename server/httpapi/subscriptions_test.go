package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/servertest"
)

const eventsQuery = `subscription($after: String, $types: [String!], $domain: ID, $message: ID) {
	events(after: $after, types: $types, domainId: $domain, messageId: $message) {
		id cursor type organizationId domainId accountId messageId recipient payload createdAt
	}
}`

// wsEvent is an Event as the subscription sends it.
type wsEvent struct {
	ID, Cursor, Type, OrganizationID string
	DomainID, MessageID, Recipient   *string
}

// wsMsg is a message of either WebSocket protocol.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient speaks graphql-transport-ws (or the legacy graphql-ws) to the
// server over a real WebSocket.
type wsClient struct {
	t      testing.TB
	conn   *websocket.Conn
	proto  string
	msgs   chan wsMsg
	closed chan struct{}
	err    error // why reading stopped; read after closed
	// gate, while held, stops the reading goroutine (pause, resume).
	gate sync.Mutex
}

// pause stops reading from the socket; resume starts again.
func (c *wsClient) pause()  { c.gate.Lock() }
func (c *wsClient) resume() { c.gate.Unlock() }

// dialWS connects with the subprotocol proto and sends connection_init
// with bearer; it does not wait for the ack.
func dialWS(t testing.TB, e *servertest.Env, proto, bearer string) *wsClient {
	return dialWSWith(t, e, proto, bearer, nil)
}

// connectSmall is connect over a socket with a 4 KiB receive buffer.
func connectSmall(t testing.TB, e *servertest.Env, proto, bearer string) *wsClient {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	c := dialWSWith(t, e, proto, bearer, client)
	if m := c.next(5 * time.Second); m.Type != "connection_ack" {
		t.Fatalf("after connection_init: %+v, want connection_ack", m)
	}
	return c
}

// dialWSWith is dialWS through client (nil: the default).
func dialWSWith(t testing.TB, e *servertest.Env, proto, bearer string, client *http.Client) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.URL, "http")
	conn, resp, err := websocket.Dial(ctx, url,
		&websocket.DialOptions{Subprotocols: []string{proto}, HTTPClient: client})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	conn.SetReadLimit(1 << 20)
	c := &wsClient{t: t, conn: conn, proto: proto, msgs: make(chan wsMsg, 10000), closed: make(chan struct{})}
	t.Cleanup(func() { _ = conn.CloseNow() })
	go c.read()
	payload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + bearer})
	c.send(wsMsg{Type: "connection_init", Payload: payload})
	return c
}

// connect dials and waits for connection_ack.
func connect(t testing.TB, e *servertest.Env, proto, bearer string) *wsClient {
	t.Helper()
	c := dialWS(t, e, proto, bearer)
	if m := c.next(5 * time.Second); m.Type != "connection_ack" {
		t.Fatalf("after connection_init: %+v, want connection_ack", m)
	}
	return c
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		c.gate.Lock()
		c.gate.Unlock() //nolint:staticcheck // an empty critical section: wait while paused
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = err
			return
		}
		switch m.Type {
		case "ping":
			c.send(wsMsg{Type: "pong"})
		case "ka":
		default:
			c.msgs <- m
		}
	}
}

func (c *wsClient) send(m wsMsg) {
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.conn.Write(ctx, websocket.MessageText, b)
}

// subscribe starts the events subscription id with vars.
func (c *wsClient) subscribe(id string, vars map[string]any) {
	typ := "subscribe"
	if c.proto == "graphql-ws" {
		typ = "start"
	}
	p, _ := json.Marshal(map[string]any{"query": eventsQuery, "variables": vars})
	c.send(wsMsg{ID: id, Type: typ, Payload: p})
}

// next returns the next message, failing the test after timeout.
func (c *wsClient) next(timeout time.Duration) wsMsg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.closed:
		c.t.Fatalf("connection closed: %v", c.err)
	case <-time.After(timeout):
		c.t.Fatalf("no message within %v (%d buffered)", timeout, len(c.msgs))
	}
	return wsMsg{}
}

// events reads n events, failing on anything else.
func (c *wsClient) events(n int) []wsEvent {
	c.t.Helper()
	var out []wsEvent
	for len(out) < n {
		m := c.next(30 * time.Second)
		if m.Type != "next" && m.Type != "data" {
			c.t.Fatalf("after %d events: %s %s, want an event", len(out), m.Type, m.Payload)
		}
		var p struct {
			Data   struct{ Events wsEvent }
			Errors []any
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			c.t.Fatalf("event payload %s: %v", m.Payload, err)
		}
		out = append(out, p.Data.Events)
	}
	return out
}

// quiet fails if a message arrives within d.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected message %s %s", m.Type, m.Payload)
	case <-time.After(d):
	}
}

// sendMail queues a message from tn's account to n remote recipients,
// each with a message.queued event, and returns the message's id.
func sendMail(t testing.TB, e *servertest.Env, tn *tenant, n int) string {
	t.Helper()
	var to []string
	for i := range n {
		to = append(to, fmt.Sprintf("r%d@remote.example", i))
	}
	var out struct{ SendEmail struct{ ID string } }
	mustDo(t, e, tn.Token, `mutation($in: SendEmailInput!) { sendEmail(input: $in) { id } }`,
		map[string]any{"in": map[string]any{
			"from": "user@" + tn.Name + ".example", "to": to, "subject": "hi", "text": "hello",
		}}, &out)
	return out.SendEmail.ID
}

// storedCursors returns the cursors of org's events in log order.
func storedCursors(t testing.TB, e *servertest.Env, org string) []string {
	t.Helper()
	rows, err := e.App.DB.Client.Event.Query().
		Where(event.OrganizationID(pulid.ID(org))).
		Order(event.BySeq()).
		All(rule.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strconv.FormatInt(r.Seq, 10)
	}
	return out
}

func cursors(evs []wsEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Cursor
	}
	return out
}

// TestSubscriptions_ReplayThenLive replays from a cursor while other
// requests commit events, and checks the stream is the log itself: in
// order, nothing missing, nothing twice. Reconnecting with the last
// cursor then gets exactly what came after.
func TestSubscriptions_ReplayThenLive(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "acme")
	for range 5 {
		sendMail(t, e, tn, 3)
	}

	c := connect(t, e, "graphql-transport-ws", tn.Token)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				sendMail(t, e, tn, 2)
			}
		}()
	}
	c.subscribe("1", map[string]any{"after": "0"})
	wg.Wait()
	got := c.events(5*3 + 4*5*2)
	if diff := cmp.Diff(storedCursors(t, e, tn.Org), cursors(got)); diff != "" {
		t.Fatalf("stream differs from the log (-log +stream):\n%s", diff)
	}
	for _, ev := range got {
		if ev.Type != "message.queued" || ev.OrganizationID != tn.Org || ev.Recipient == nil {
			t.Fatalf("event %+v", ev)
		}
	}
	c.quiet(200 * time.Millisecond)

	// Reconnect from the last cursor after more was committed.
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	last := got[len(got)-1].Cursor
	sendMail(t, e, tn, 3)
	c2 := connect(t, e, "graphql-transport-ws", tn.Token)
	c2.subscribe("1", map[string]any{"after": last})
	more := c2.events(3)
	all := storedCursors(t, e, tn.Org)
	if diff := cmp.Diff(all[len(all)-3:], cursors(more)); diff != "" {
		t.Fatalf("after reconnecting (-log +stream):\n%s", diff)
	}
	c2.quiet(200 * time.Millisecond)
}

// TestSubscriptions_OtherOrganization checks a subscriber sees only its
// own organization's events, live and replayed.
func TestSubscriptions_OtherOrganization(t *testing.T) {
	e := servertest.New(t, nil)
	a, b := newTenant(t, e, "acme"), newTenant(t, e, "globex")
	sendMail(t, e, a, 2)

	cb := connect(t, e, "graphql-transport-ws", b.Token)
	cb.subscribe("1", map[string]any{"after": "0"})
	cb.quiet(200 * time.Millisecond)
	sendMail(t, e, a, 2)
	cb.quiet(300 * time.Millisecond)

	sendMail(t, e, b, 1)
	got := cb.events(1)
	if got[0].OrganizationID != b.Org {
		t.Fatalf("globex's subscriber got %+v", got[0])
	}
	cb.quiet(200 * time.Millisecond)
}

// TestSubscriptions_Filters narrows by type, domain and message, over
// the legacy graphql-ws protocol too.
func TestSubscriptions_Filters(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "acme")
	m1 := sendMail(t, e, tn, 2)
	m2 := sendMail(t, e, tn, 1)
	mustDo(t, e, tn.Token, `mutation($id: ID!) { cancelOutboundMessage(id: $id) { id } }`,
		map[string]any{"id": m2}, nil)

	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			c := connect(t, e, proto, tn.Token)
			c.subscribe("types", map[string]any{"after": "0", "types": []string{"message.canceled"}})
			if got := c.events(1); got[0].Type != "message.canceled" || *got[0].MessageID != m2 {
				t.Fatalf("types filter: %+v", got[0])
			}
			c.subscribe("msg", map[string]any{"after": "0", "message": m1})
			for _, ev := range c.events(2) {
				if *ev.MessageID != m1 || ev.Type != "message.queued" {
					t.Fatalf("message filter: %+v", ev)
				}
			}
			c.subscribe("dom", map[string]any{"after": "0", "domain": "dom_00000000000000000000000000"})
			c.quiet(200 * time.Millisecond)
		})
	}
}

// TestSubscriptions_Auth checks connection_init: a bad credential closes
// the socket with 4403, and a token's connection closes when it expires.
func TestSubscriptions_Auth(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "acme")

	c := dialWS(t, e, "graphql-transport-ws", "lr_not_a_key")
	<-c.closed
	if got := websocket.CloseStatus(c.err); got != 4403 {
		t.Errorf("bad credential: close status %d (%v), want 4403", got, c.err)
	}

	tok, err := e.App.Auth.IssueToken(e.Admin(), pulid.ID(tn.Org), nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c = connect(t, e, "graphql-transport-ws", tok.Token)
	c.subscribe("1", nil)
	select {
	case <-c.closed:
		if time.Until(tok.ExpiresAt) > 0 {
			t.Errorf("closed %v before the token expired: %v", time.Until(tok.ExpiresAt), c.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open 5s after its token's expiry")
	}
}

// TestSubscriptions_Revoked: deleting the API key a WebSocket was opened
// with, or disabling the organization of a token's socket, closes the
// socket within the recheck interval; a socket of a key still valid stays.
func TestSubscriptions_Revoked(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) { c.Subscriptions.CredentialRecheck = 100 * time.Millisecond })
	tn := newTenant(t, e, "acme")
	id, secret := createAPIKey(t, e, tn.Token, map[string]any{"name": "live", "scopes": []string{"read"}})
	_, kept := createAPIKey(t, e, tn.Token, map[string]any{"name": "kept", "scopes": []string{"read"}})

	revoked := connect(t, e, "graphql-transport-ws", secret)
	revoked.subscribe("1", nil)
	stays := connect(t, e, "graphql-transport-ws", kept)
	stays.subscribe("1", nil)
	stays.quiet(300 * time.Millisecond) // both open and checked a few times

	mustDo(t, e, tn.Token, `mutation($id: ID!) { deleteAPIKey(id: $id) { deletedID } }`,
		map[string]any{"id": id}, nil)
	select {
	case <-revoked.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("socket still open 5s after its API key was deleted")
	}
	select {
	case <-stays.closed:
		t.Fatalf("the socket of a valid key closed too: %v", stays.err)
	case <-time.After(300 * time.Millisecond):
	}

	other := createOrg(t, e, "Other")
	c := connect(t, e, "graphql-ws", e.Token(t, pulid.ID(other)))
	c.subscribe("1", nil)
	if err := e.App.DB.Client.Organization.UpdateOneID(pulid.ID(other)).
		SetDisabled(true).Exec(e.Admin()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("socket still open 5s after its organization was disabled")
	}
}

// TestSubscriptions_SlowConsumer drops a subscriber that stops reading
// with SLOW_CONSUMER, while another receives every event.
func TestSubscriptions_SlowConsumer(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) {
		c.Subscriptions.Buffer = 300
		// A paused client misses pings; past two intervals the server
		// would drop it for that, which is not what this test is about.
		c.Subscriptions.KeepAlive = 10 * time.Minute
	})
	tn := newTenant(t, e, "acme")
	fast := connect(t, e, "graphql-transport-ws", tn.Token)
	fast.subscribe("1", nil)
	// The slow client's socket takes little: loopback's default buffers
	// (megabytes) would hold the whole stream, so that the server's
	// writes never block and the subscriber is never dropped.
	slow := connectSmall(t, e, "graphql-transport-ws", tn.Token)
	slow.subscribe("1", nil)
	time.Sleep(100 * time.Millisecond)

	// The slow client stops reading: the server's writes block once the
	// socket buffers fill, and then its buffer of 300 fills (one sendEmail commits up to 100).
	slow.pause()
	var wg sync.WaitGroup
	const senders, mails, rcpts = 8, 20, 100
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range mails {
				sendMail(t, e, tn, rcpts)
			}
		}()
	}
	got := fast.events(senders * mails * rcpts)
	wg.Wait()
	if diff := cmp.Diff(storedCursors(t, e, tn.Org), cursors(got)); diff != "" {
		t.Fatalf("the fast subscriber's stream differs from the log:\n%s", diff)
	}

	// The slow one got a prefix of the log, then the error, then complete.
	slow.resume()
	n := 0
	for {
		m := slow.next(30 * time.Second)
		var p struct {
			Data   *struct{ Events wsEvent }
			Errors []struct{ Extensions map[string]any }
		}
		_ = json.Unmarshal(m.Payload, &p)
		if m.Type == "next" && p.Data != nil {
			if p.Data.Events.Cursor != got[n].Cursor {
				t.Fatalf("slow event %d: cursor %s, want %s", n, p.Data.Events.Cursor, got[n].Cursor)
			}
			n++
			continue
		}
		if m.Type != "next" || len(p.Errors) != 1 || p.Errors[0].Extensions["code"] != "SLOW_CONSUMER" {
			t.Fatalf("after %d events: %s %s, want SLOW_CONSUMER", n, m.Type, m.Payload)
		}
		break
	}
	if m := slow.next(5 * time.Second); m.Type != "complete" {
		t.Fatalf("after the error: %+v, want complete", m)
	}
	if n >= len(got) {
		t.Fatalf("the slow subscriber got all %d events", n)
	}
	t.Logf("slow subscriber dropped after %d of %d events", n, len(got))
}

// TestSubscriptions_SSE streams events to curl.
func TestSubscriptions_SSE(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "acme")
	sendMail(t, e, tn, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]any{
		"query": `subscription { events(after: "0") { cursor type recipient } }`,
	})
	cmd := exec.CommandContext(ctx, "curl", "-sN", "-H", "Accept: text/event-stream",
		"-H", "Content-Type: application/json", "-H", "Authorization: Bearer "+tn.Token,
		"--data-binary", string(body), e.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	lines := bufio.NewScanner(out)
	var got []string
	for len(got) < 2 && lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		got = append(got, data)
		if len(got) == 1 {
			sendMail(t, e, tn, 1) // live, after the replayed one
		}
	}
	all := storedCursors(t, e, tn.Org)
	want := []string{
		`{"data":{"events":{"cursor":"` + all[0] + `","type":"message.queued","recipient":"r0@remote.example"}}}`,
		`{"data":{"events":{"cursor":"` + all[1] + `","type":"message.queued","recipient":"r0@remote.example"}}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("SSE data (-want +got):\n%s\nerr: %v", diff, errors.Join(lines.Err()))
	}
}
