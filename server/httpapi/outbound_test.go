package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/servertest"
)

// sendMutation sends $in and reads back what the API shows of the queued
// message.
const sendMutation = `mutation($in: SendEmailInput!) {
	sendEmail(input: $in) {
		id subject messageIDHeader mailFrom source idempotencyKey accountID
		recipients { address status attempts nextAttemptAt lastError remoteMx tls }
	}
}`

// outboundView is the part of an OutboundMessage the tests read.
type outboundView struct {
	ID              string
	Subject         string
	MessageIDHeader string
	MailFrom        string
	Source          string
	IdempotencyKey  *string
	AccountID       *string
	Recipients      []struct {
		Address, Status string
		Attempts        int
		NextAttemptAt   *string
		LastError       string
		RemoteMx        string
		TLS             bool
	}
}

// sendEmail sends in with bearer's credential and returns the response.
func sendEmail(t testing.TB, e *servertest.Env, bearer string, in map[string]any) *servertest.Response {
	t.Helper()
	return e.Do(t, bearer, sendMutation, map[string]any{"in": in})
}

// mustSend sends in, which must succeed, and returns the message.
func mustSend(t testing.TB, e *servertest.Env, bearer string, in map[string]any) outboundView {
	t.Helper()
	var out struct{ SendEmail outboundView }
	sendEmail(t, e, bearer, in).Decode(t, &out)
	return out.SendEmail
}

// rawOutbound returns the stored bytes of outbound message id.
func rawOutbound(t testing.TB, e *servertest.Env, id string) []byte {
	t.Helper()
	c, ctx := e.App.DB.Client, e.Admin()
	b, err := c.OutboundMessage.Query().
		Where(outboundmessage.ID(pulid.ID(id))).
		QueryBlob().
		Only(ctx)
	if err != nil {
		t.Fatalf("blob of %s: %v", id, err)
	}
	raw, err := store.New().Load(ctx, c, b)
	if err != nil {
		t.Fatalf("load blob of %s: %v", id, err)
	}
	return raw
}

// sentCopies returns the subjects of the messages in the Sent mailbox of
// tn's account.
func sentCopies(t testing.TB, e *servertest.Env, tn *tenant) []*ent.Message {
	t.Helper()
	ms, err := e.App.DB.Client.Message.Query().
		Where(message.HasMailboxWith(mailbox.AccountID(pulid.ID(tn.Account)),
			mailbox.SpecialUseEQ(mailbox.SpecialUseSent))).
		All(e.Admin())
	if err != nil {
		t.Fatalf("read Sent: %v", err)
	}
	return ms
}

func TestSendEmail_SmallestCall(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	before := e.Wakes.Load()

	r := e.Do(t, tn.Token, `mutation {
		sendEmail(input: {from: "someone@a.example", to: ["carol@remote.test"], subject: "Hi",
			text: "Hello"}) { id }
	}`, nil)
	var out struct{ SendEmail struct{ ID string } }
	r.Decode(t, &out)
	id := out.SendEmail.ID
	if !strings.HasPrefix(id, "out_") {
		t.Fatalf("id = %q, want an out_ id", id)
	}
	if got := e.Wakes.Load() - before; got != 1 {
		t.Errorf("workers woken %d times, want 1", got)
	}

	c, ctx := e.App.DB.Client, e.Admin()
	m, err := c.OutboundMessage.Query().Where(outboundmessage.ID(pulid.ID(id))).
		WithRecipients().Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.MailFrom != "someone@a.example" || m.Subject != "Hi" || m.Source != outboundmessage.SourceAPI ||
		string(m.OrganizationID) != tn.Org || string(m.DomainID) != tn.Domain || m.AccountID != "" {
		t.Errorf("stored message %+v", m)
	}
	if len(m.Edges.Recipients) != 1 || m.Edges.Recipients[0].Address != "carol@remote.test" ||
		m.Edges.Recipients[0].Status != outboundrecipient.StatusQueued {
		t.Errorf("recipients %+v", m.Edges.Recipients)
	}
	evs, err := c.Event.Query().Where(event.MessageID(m.ID)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != "message.queued" || evs[0].Recipient != "carol@remote.test" {
		t.Errorf("events %+v", evs)
	}
	raw := string(rawOutbound(t, e, id))
	for _, want := range []string{"From: <someone@a.example>\r\n", "To: <carol@remote.test>\r\n",
		"Subject: Hi\r\n", "Message-Id: <" + m.MessageIDHeader + ">\r\n", "\r\nDate: ",
		"Mime-Version: 1.0\r\n", "Content-Type: text/plain; charset=utf-8\r\n", "\r\n\r\nHello"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw message lacks %q:\n%s", want, raw)
		}
	}
	if !strings.HasSuffix(m.MessageIDHeader, "@a.example") {
		t.Errorf("Message-ID %q is not at the sending domain", m.MessageIDHeader)
	}
	// A sender that is no account gets no Sent copy.
	if got := sentCopies(t, e, tn); len(got) != 0 {
		t.Errorf("Sent holds %d messages, want none", len(got))
	}
}

// fullInput is a request using every input of sendEmail.
func fullInput(from string) map[string]any {
	return map[string]any{
		"from":    "Jürgen Groß <" + from + ">",
		"to":      []string{"Carol <carol@remote.test>", "dave@remote.test"},
		"cc":      []string{"erin@remote.test"},
		"bcc":     []string{"hidden@secret.test"},
		"replyTo": []string{"replies@a.example"},
		"subject": "Grüße aus Köln – 你好",
		"text":    "Hello =\nsecond line",
		"html":    `<p>Hello <img src="cid:logo@a"></p>`,
		"attachments": []map[string]any{
			{"filename": "report.pdf", "contentType": "application/pdf",
				"content": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake"))},
			{"filename": "logo.png", "contentType": "image/png", "contentId": "logo@a",
				"content": base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G'})},
		},
		"headers":        []map[string]any{{"name": "X-Campaign", "value": "spring"}},
		"idempotencyKey": "order-1",
	}
}

func TestSendEmail_MessageAndEnvelope(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	m := mustSend(t, e, tn.Token, fullInput("noreply@a.example"))

	var got []string
	for _, r := range m.Recipients {
		got = append(got, r.Address+" "+r.Status)
	}
	want := []string{"carol@remote.test queued", "dave@remote.test queued",
		"erin@remote.test queued", "hidden@secret.test queued"}
	if diff := cmp.Diff(sorted(want...), sorted(got...)); diff != "" {
		t.Errorf("recipients (-want +got):\n%s", diff)
	}
	if m.Subject != "Grüße aus Köln – 你好" || m.MailFrom != "noreply@a.example" || m.Source != "api" ||
		m.IdempotencyKey == nil || *m.IdempotencyKey != "order-1" {
		t.Errorf("message %+v", m)
	}

	raw := rawOutbound(t, e, m.ID)
	if strings.Contains(string(raw), "hidden@secret.test") || strings.Contains(string(raw), "Bcc") {
		t.Errorf("the Bcc recipient shows in the message:\n%s", raw)
	}
	if strings.Contains(strings.ReplaceAll(string(raw), "\r\n", ""), "\n") {
		t.Error("the message has a bare LF")
	}
	parts := mimeTree(t, raw)
	wantTree := []string{
		"multipart/mixed",
		"  multipart/related",
		"    multipart/alternative",
		"      text/plain",
		"      text/html",
		"    image/png inline logo.png",
		"  application/pdf attachment report.pdf",
	}
	if diff := cmp.Diff(wantTree, parts); diff != "" {
		t.Errorf("MIME structure (-want +got):\n%s", diff)
	}
}

// countOutbound counts the outbound messages of every organization.
func countOutbound(t testing.TB, e *servertest.Env) int {
	t.Helper()
	n, err := e.App.DB.Client.OutboundMessage.Query().Count(e.Admin())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendEmail_Idempotency(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	in := map[string]any{"from": "user@a.example", "to": []string{"carol@remote.test"},
		"subject": "Invoice", "text": "Due", "idempotencyKey": "inv-7"}

	first := mustSend(t, e, tn.Token, in)
	again := mustSend(t, e, tn.Token, in)
	if again.ID != first.ID || again.MessageIDHeader != first.MessageIDHeader {
		t.Errorf("repeat returned %s (%s), want the first %s (%s)",
			again.ID, again.MessageIDHeader, first.ID, first.MessageIDHeader)
	}
	if n := countOutbound(t, e); n != 1 {
		t.Errorf("%d outbound messages, want 1", n)
	}
	if n := len(sentCopies(t, e, tn)); n != 1 {
		t.Errorf("%d Sent copies, want 1", n)
	}

	in["text"] = "Due tomorrow"
	r := sendEmail(t, e, tn.Token, in)
	wantCode(t, r, "BAD_USER_INPUT")
	if len(r.Errors) > 0 && !strings.Contains(r.Errors[0].Message, "idempotency key reused") {
		t.Errorf("message %q", r.Errors[0].Message)
	}

	// Another organization may use the same key for its own message.
	b := newTenant(t, e, "b")
	other := mustSend(t, e, b.Token, map[string]any{"from": "user@b.example",
		"to": []string{"carol@remote.test"}, "text": "Hi", "idempotencyKey": "inv-7"})
	if other.ID == first.ID {
		t.Error("organization b got a's message for the same key")
	}
}

func TestSendEmail_ConcurrentDuplicates(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	in := map[string]any{"from": "user@a.example", "to": []string{"carol@remote.test"},
		"text": "once", "idempotencyKey": "race"}
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i] = mustSend(t, e, tn.Token, in).ID })
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent requests returned different messages: %v", ids)
		}
	}
	if got := countOutbound(t, e); got != 1 {
		t.Errorf("%d outbound messages, want 1", got)
	}
	if got := len(sentCopies(t, e, tn)); got != 1 {
		t.Errorf("%d Sent copies, want 1", got)
	}
}

func TestSendEmail_RefusedSenders(t *testing.T) {
	e := servertest.New(t, nil)
	a, b := newTenant(t, e, "a"), newTenant(t, e, "b")
	for _, from := range []string{"user@b.example", "x@unknown.example", "Someone <x@B.EXAMPLE>"} {
		t.Run(from, func(t *testing.T) {
			r := sendEmail(t, e, a.Token, map[string]any{
				"from": from, "to": []string{"carol@remote.test"}, "text": "Hi",
			})
			wantCode(t, r, "FORBIDDEN", b.Domain)
		})
	}
	if n := countOutbound(t, e); n != 0 {
		t.Errorf("%d outbound messages, want none", n)
	}
}

func TestSendEmail_BadInput(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	base := func() map[string]any {
		return map[string]any{"from": "user@a.example", "to": []string{"carol@remote.test"}, "text": "Hi"}
	}
	tests := []struct {
		name string
		edit func(map[string]any)
	}{
		{"header injection", func(in map[string]any) {
			in["headers"] = []map[string]any{{"name": "X-Note", "value": "a\r\nBcc: victim@remote.test"}}
		}},
		{"bare LF in a header", func(in map[string]any) {
			in["headers"] = []map[string]any{{"name": "X-Note", "value": "a\nX-Evil: 1"}}
		}},
		{"reserved header", func(in map[string]any) {
			in["headers"] = []map[string]any{{"name": "Message-ID", "value": "<x@y>"}}
		}},
		{"content header", func(in map[string]any) {
			in["headers"] = []map[string]any{{"name": "Content-Type", "value": "text/html"}}
		}},
		{"header name with a colon", func(in map[string]any) {
			in["headers"] = []map[string]any{{"name": "X-A: b", "value": "c"}}
		}},
		{"subject injection", func(in map[string]any) { in["subject"] = "Hi\r\nBcc: victim@remote.test" }},
		{"address injection", func(in map[string]any) {
			in["to"] = []string{"Carol\r\nBcc: victim@remote.test <carol@remote.test>"}
		}},
		{"no recipient", func(in map[string]any) { delete(in, "to") }},
		{"bad recipient", func(in map[string]any) { in["to"] = []string{"not an address"} }},
		{"no body", func(in map[string]any) { delete(in, "text") }},
		{"attachment not base64", func(in map[string]any) {
			in["attachments"] = []map[string]any{{"filename": "a", "content": "***"}}
		}},
		{"too many recipients", func(in map[string]any) {
			var to []string
			for i := range 101 {
				to = append(to, fmt.Sprintf("r%d@remote.test", i))
			}
			in["to"] = to
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(in)
			wantCode(t, sendEmail(t, e, tn.Token, in), "BAD_USER_INPUT")
		})
	}
	if n := countOutbound(t, e); n != 0 {
		t.Errorf("%d outbound messages, want none", n)
	}
}

func TestSendEmail_Scopes(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	in := map[string]any{"from": "user@a.example", "to": []string{"carol@remote.test"}, "text": "Hi"}

	for _, scopes := range [][]string{{"read"}, {"read", "write"}} {
		r := sendEmail(t, e, e.Token(t, pulid.ID(tn.Org), scopes...), in)
		wantCode(t, r, "FORBIDDEN")
	}
	// The send scope alone is enough to send, as for SMTP submission;
	// reading the recipients' state takes the read scope.
	sendOnly := e.Token(t, pulid.ID(tn.Org), "send")
	var out struct{ SendEmail struct{ ID string } }
	mustDo(t, e, sendOnly, `mutation($in: SendEmailInput!) { sendEmail(input: $in) { id } }`,
		map[string]any{"in": in}, &out)
	if n := countOutbound(t, e); n != 1 || len(sentCopies(t, e, tn)) != 1 {
		t.Errorf("send-only token: %d messages, %d Sent copies; want 1 and 1", n, len(sentCopies(t, e, tn)))
	}
	// Asking for the recipients fails the mutation, which sends nothing.
	wantCode(t, sendEmail(t, e, sendOnly, in), "FORBIDDEN")
	if n := countOutbound(t, e); n != 1 {
		t.Errorf("%d messages after the refused read, want 1", n)
	}
}

func TestSendEmail_SentCopy(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	before := len(sentCopies(t, e, tn))

	// The account itself, under a +tag.
	m := mustSend(t, e, tn.Token, map[string]any{"from": "User <user+news@a.example>",
		"to": []string{"carol@remote.test"}, "bcc": []string{"boss@remote.test"},
		"subject": "Kopie", "text": "Hi"})
	if m.AccountID == nil || *m.AccountID != tn.Account {
		t.Errorf("accountID = %v, want %s", m.AccountID, tn.Account)
	}
	copies := sentCopies(t, e, tn)
	if len(copies) != before+1 {
		t.Fatalf("Sent holds %d messages, want %d", len(copies), before+1)
	}
	c := copies[len(copies)-1]
	if c.Subject != "Kopie" || !c.Seen || c.MessageIDHeader != m.MessageIDHeader {
		t.Errorf("Sent copy %+v", c)
	}

	// team@ forwards to a remote address: no account, no copy.
	m = mustSend(t, e, tn.Token, map[string]any{"from": "team@a.example",
		"to": []string{"carol@remote.test"}, "text": "Hi"})
	if m.AccountID != nil && *m.AccountID != "" {
		t.Errorf("alias sender got account %s", *m.AccountID)
	}
	if n := len(sentCopies(t, e, tn)); n != before+1 {
		t.Errorf("Sent holds %d messages after the alias sent, want %d", n, before+1)
	}
}

// setRecipient changes the delivery state of recipient addr of message id
// as the queue would.
func setRecipient(t testing.TB, e *servertest.Env, id, addr string, st outboundrecipient.Status,
	next *time.Time) {
	t.Helper()
	err := e.App.DB.Client.OutboundRecipient.Update().
		Where(outboundrecipient.OutboundMessageID(pulid.ID(id)), outboundrecipient.Address(addr)).
		SetStatus(st).SetAttempts(1).SetNillableNextAttemptAt(next).
		Exec(e.Admin())
	if err != nil {
		t.Fatal(err)
	}
}

// outboundQuery reads one outbound message with its recipients and events.
const outboundQuery = `query($id: ID!) { node(id: $id) { ... on OutboundMessage {
	id recipients { address status nextAttemptAt attemptsLog { id } }
	events { type recipient payload }
} } }`

type outboundState struct {
	Node *struct {
		ID         string
		Recipients []struct {
			Address, Status string
			NextAttemptAt   *string
		}
		Events []struct {
			Type, Recipient string
			Payload         map[string]any
		}
	}
}

// states returns address -> status of the recipients in s.
func (s outboundState) states() map[string]string {
	out := map[string]string{}
	if s.Node != nil {
		for _, r := range s.Node.Recipients {
			out[r.Address] = r.Status
		}
	}
	return out
}

func TestOutbound_RetryAndCancel(t *testing.T) {
	e := servertest.New(t, nil)
	tn := newTenant(t, e, "a")
	m := mustSend(t, e, tn.Token, map[string]any{"from": "user@a.example",
		"to": []string{"q@remote.test", "d@remote.test", "ok@remote.test", "b@remote.test"}, "text": "Hi"})
	later := time.Now().Add(time.Hour)
	setRecipient(t, e, m.ID, "d@remote.test", outboundrecipient.StatusDeferred, &later)
	setRecipient(t, e, m.ID, "ok@remote.test", outboundrecipient.StatusDelivered, nil)
	setRecipient(t, e, m.ID, "b@remote.test", outboundrecipient.StatusBounced, nil)

	wakes := e.Wakes.Load()
	var retried struct {
		RetryOutboundMessage struct {
			Recipients []struct {
				Address, Status string
				NextAttemptAt   *string
			}
		}
	}
	mustDo(t, e, tn.Token, `mutation($id: ID!) { retryOutboundMessage(id: $id) {
		recipients { address status nextAttemptAt } } }`, map[string]any{"id": m.ID}, &retried)
	for _, r := range retried.RetryOutboundMessage.Recipients {
		if r.NextAttemptAt != nil {
			t.Errorf("after retry, %s is due at %s, want now", r.Address, *r.NextAttemptAt)
		}
	}
	if e.Wakes.Load() != wakes+1 {
		t.Error("retry did not wake the workers")
	}

	mustDo(t, e, tn.Token, `mutation($id: ID!) { cancelOutboundMessage(id: $id) { id } }`,
		map[string]any{"id": m.ID}, nil)
	var st outboundState
	mustDo(t, e, tn.Token, outboundQuery, map[string]any{"id": m.ID}, &st)
	want := map[string]string{"q@remote.test": "canceled", "d@remote.test": "canceled",
		"ok@remote.test": "delivered", "b@remote.test": "bounced"}
	if diff := cmp.Diff(want, st.states()); diff != "" {
		t.Errorf("states after cancel (-want +got):\n%s", diff)
	}
	var canceled []string
	for _, ev := range st.Node.Events {
		if ev.Type == "message.canceled" {
			canceled = append(canceled, ev.Recipient)
			if ev.Payload["status"] != "canceled" {
				t.Errorf("canceled event payload %v", ev.Payload)
			}
		}
	}
	if diff := cmp.Diff(sorted("q@remote.test", "d@remote.test"), sorted(canceled...)); diff != "" {
		t.Errorf("message.canceled events (-want +got):\n%s", diff)
	}
	if n := len(st.Node.Events); n != 6 { // 4 queued, 2 canceled
		t.Errorf("%d events, want 6", n)
	}

	// Filtering by the recipients' state.
	var list struct {
		OutboundMessages struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
	}
	mustDo(t, e, tn.Token, `{ outboundMessages(where: {hasRecipientsWith: [{status: bounced}]},
		orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id } } } }`, nil, &list)
	if list.OutboundMessages.TotalCount != 1 || list.OutboundMessages.Edges[0].Node.ID != m.ID {
		t.Errorf("messages with a bounced recipient: %+v", list.OutboundMessages)
	}
	mustDo(t, e, tn.Token, `{ outboundMessages(where: {hasRecipientsWith: [{status: deferred}]}) {
		totalCount edges { node { id } } } }`, nil, &list)
	if list.OutboundMessages.TotalCount != 0 {
		t.Errorf("messages with a deferred recipient: %+v", list.OutboundMessages)
	}
}

func TestOutbound_TenantIsolation(t *testing.T) {
	e, a, b := twoTenants(t)
	m := mustSend(t, e, a.Token, map[string]any{"from": "user@a.example",
		"to": []string{"carol@remote.test"}, "text": "Hi"})

	r := e.Do(t, b.Token, `{ outboundMessages { totalCount edges { node { id } } } }`, nil)
	wantOK(t, r)
	if n, ids := connIDs(t, r.Data, "outboundMessages"); n != 0 || len(ids) != 0 {
		t.Errorf("b lists %d outbound messages: %v", n, ids)
	}
	var st outboundState
	r = e.Do(t, b.Token, outboundQuery, map[string]any{"id": m.ID})
	if err := jsonDecode(r.Data, &st); err != nil || st.Node != nil {
		t.Errorf("b reads a's message: %s (errors %+v)", r.Data, r.Errors)
	}
	for _, op := range []string{"cancelOutboundMessage", "retryOutboundMessage"} {
		r := e.Do(t, b.Token, fmt.Sprintf(`mutation($id: ID!) { %s(id: $id) { id } }`, op),
			map[string]any{"id": m.ID})
		wantCode(t, r, "NOT_FOUND", m.ID)
	}
	mustDo(t, e, a.Token, outboundQuery, map[string]any{"id": m.ID}, &st)
	if diff := cmp.Diff(map[string]string{"carol@remote.test": "queued"}, st.states()); diff != "" {
		t.Errorf("a's message changed (-want +got):\n%s", diff)
	}
	r = e.Do(t, a.Token, `{ outboundMessages { totalCount } }`, nil)
	if n, _ := connIDs(t, r.Data, "outboundMessages"); n != 1 {
		t.Errorf("a lists %d outbound messages, want 1", n)
	}
}
