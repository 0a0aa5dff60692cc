package sender_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/dkimkey"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/mailbox"
	entmsg "github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/sender"
	lightrdkim "github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
)

// recipients returns the message's recipients by address.
func (f *fixture) recipients(t *testing.T, m *ent.OutboundMessage) map[string]*ent.OutboundRecipient {
	t.Helper()
	rows, err := f.db.OutboundRecipient.Query().
		Where(outboundrecipient.OutboundMessageID(m.ID)).All(rule.SystemContext(context.Background()))
	check(t, err)
	out := map[string]*ent.OutboundRecipient{}
	for _, r := range rows {
		out[r.Address] = r
	}
	return out
}

// events returns the types of the events about rcpt of m, in order.
func (f *fixture) events(t *testing.T, m *ent.OutboundMessage, rcpt string) []string {
	t.Helper()
	rows, err := f.db.Event.Query().
		Where(event.MessageID(m.ID), event.Recipient(rcpt)).
		Order(ent.Asc(event.FieldID)).All(rule.SystemContext(context.Background()))
	check(t, err)
	var types []string
	for _, e := range rows {
		types = append(types, e.Type)
	}
	return types
}

// status waits until rcpt of m reaches want.
func (f *fixture) waitStatus(t *testing.T, m *ent.OutboundMessage, rcpt string, want outboundrecipient.Status) {
	t.Helper()
	waitFor(t, rcpt+" "+string(want), func() bool {
		r := f.recipients(t, m)[rcpt]
		return r != nil && r.Status == want
	})
}

// inbox returns the subjects in user's INBOX.
func (f *fixture) inbox(t *testing.T, user string) []*ent.Message {
	t.Helper()
	ctx := rule.SystemContext(context.Background())
	a, err := f.db.Account.Query().Where(account.LocalPart(user)).Only(ctx)
	check(t, err)
	msgs, err := f.db.Message.Query().
		Where(entmsg.AccountID(a.ID), entmsg.HasMailboxWith(mailbox.Name("INBOX"))).
		All(ctx)
	check(t, err)
	return msgs
}

// TestSender_RemoteSigned: one unit for two recipients of remote.test
// goes over one transaction, DKIM-signed with acme.test's key, and both
// recipients end delivered with queued and delivered events.
func TestSender_RemoteSigned(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, nil)
	m := f.queue(t, s, "alice@acme.test", testMessage("signed"), "carol@remote.test", "dave@remote.test")
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)

	got := f.peer.received()
	if len(got) != 1 || len(got[0].to) != 2 || got[0].from != "alice@acme.test" {
		t.Fatalf("peer received %+v, want one message to two recipients", got)
	}
	key, err := f.db.DKIMKey.Query().Where(dkimkey.DomainID(f.domain.ID)).Only(rule.SystemContext(context.Background()))
	check(t, err)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(got[0].data), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name != "s1._domainkey.acme.test" {
				t.Errorf("looked up %s", name)
			}
			return []string{lightrdkim.RecordValue(string(key.Algorithm), key.PublicKey)}, nil
		},
	})
	check(t, err)
	if len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "acme.test" {
		t.Fatalf("DKIM verifications %+v", verifs)
	}
	for _, rc := range []string{"carol@remote.test", "dave@remote.test"} {
		r := f.recipients(t, m)[rc]
		if r.Status != outboundrecipient.StatusDelivered || r.RemoteMx != "mx.remote.test" || r.Attempts != 1 {
			t.Errorf("%s: %+v", rc, r)
		}
		if ev := f.events(t, m, rc); strings.Join(ev, " ") != "message.queued message.delivered" {
			t.Errorf("%s events %v", rc, ev)
		}
	}
	if st := s.Stats(); st.Delivered != 2 || st.Claimed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSender_DeferredTwice: 451 twice, then accepted: the events read
// queued, deferred, deferred, delivered, and the peer got it once.
func TestSender_DeferredTwice(t *testing.T) {
	f := newFixture(t)
	f.peer.script(nil, func(n int) error {
		if n <= 2 {
			return smtpError(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
		}
		return nil
	})
	s := f.start(t, nil)
	m := f.queue(t, s, "alice@acme.test", testMessage("deferred"), "carol@remote.test")
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)

	want := "message.queued message.deferred message.deferred message.delivered"
	if ev := f.events(t, m, "carol@remote.test"); strings.Join(ev, " ") != want {
		t.Errorf("events %v, want %s", ev, want)
	}
	r := f.recipients(t, m)["carol@remote.test"]
	if r.Attempts != 3 {
		t.Errorf("attempts %d, want 3", r.Attempts)
	}
	if n := len(f.peer.received()); n != 1 {
		t.Errorf("peer has %d copies", n)
	}
	atts, err := r.QueryAttemptsLog().All(rule.SystemContext(context.Background()))
	check(t, err)
	if len(atts) != 3 || atts[0].SMTPCode != 451 || atts[0].EnhancedCode != "4.3.0" {
		t.Errorf("attempt log %+v", atts)
	}
}

// TestSender_BounceToLocalSender: a 550 bounces the recipient, logs a
// bounced event, and puts a DSN in alice's INBOX (she is local), sent
// with the null sender; the other recipient is delivered.
func TestSender_BounceToLocalSender(t *testing.T) {
	f := newFixture(t)
	f.peer.script(func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return smtpError(550, smtp.EnhancedCode{5, 1, 1}, "no such user")
		}
		return nil
	}, nil)
	s := f.start(t, nil)
	m := f.queue(t, s, "alice@acme.test", testMessage("bounce"), "nobody@remote.test", "carol@remote.test")
	f.waitStatus(t, m, "nobody@remote.test", outboundrecipient.StatusBounced)
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)
	if ev := f.events(t, m, "nobody@remote.test"); strings.Join(ev, " ") != "message.queued message.bounced" {
		t.Errorf("events %v", ev)
	}

	var dsns []*ent.Message
	waitFor(t, "the DSN in alice's INBOX", func() bool {
		dsns = f.inbox(t, "alice")
		return len(dsns) == 1
	})
	b, err := f.db.OutboundMessage.Query().Where(outboundmessage.SourceEQ(outboundmessage.SourceBounce)).
		Only(rule.SystemContext(context.Background()))
	check(t, err)
	if b.MailFrom != "" {
		t.Errorf("bounce sent from %q, want <>", b.MailFrom)
	}
	blob, err := f.db.Blob.Get(rule.SystemContext(context.Background()), dsns[0].BlobID)
	check(t, err)
	raw, err := store.New().Load(rule.SystemContext(context.Background()), f.db.Client, blob)
	check(t, err)
	for _, want := range []string{"Return-Path: <>", "multipart/report", "report-type=delivery-status",
		"Final-Recipient: rfc822; nobody@remote.test", "Action: failed", "Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("DSN lacks %q:\n%s", want, raw)
		}
	}
	if n := len(f.peer.received()); n != 1 {
		t.Errorf("peer has %d messages, want only the original (the DSN stays local)", n)
	}
}

// TestSender_NoBounceForBounce: a failed message with the null sender is
// not reported to anyone.
func TestSender_NoBounceForBounce(t *testing.T) {
	f := newFixture(t)
	f.peer.script(func(string) error { return smtpError(550, smtp.EnhancedCode{5, 1, 1}, "no") }, nil)
	s := f.start(t, nil)
	m := f.queue(t, s, "", testMessage("null sender"), "carol@remote.test")
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusBounced)
	time.Sleep(100 * time.Millisecond)
	n, err := f.db.OutboundMessage.Query().Count(rule.SystemContext(context.Background()))
	check(t, err)
	if n != 1 || s.Stats().Bounces != 0 {
		t.Errorf("%d outbound messages, %d bounces; want the original only", n, s.Stats().Bounces)
	}
}

// TestSender_LocalRecipients: recipients of a hosted domain go through
// local delivery: bob gets the message in his INBOX with a Return-Path,
// and an unknown address bounces back to alice.
func TestSender_LocalRecipients(t *testing.T) {
	f := newFixture(t)
	s := f.start(t, nil)
	m := f.queue(t, s, "alice@acme.test", testMessage("local"), "Bob@acme.test", "ghost@acme.test")
	f.waitStatus(t, m, "Bob@acme.test", outboundrecipient.StatusDelivered)
	f.waitStatus(t, m, "ghost@acme.test", outboundrecipient.StatusBounced)
	if got := f.inbox(t, "bob"); len(got) != 1 || got[0].Subject != "local" {
		t.Fatalf("bob's INBOX: %+v", got)
	}
	if r := f.recipients(t, m)["Bob@acme.test"]; r.RemoteMx != "local" {
		t.Errorf("bob: remote_mx %q", r.RemoteMx)
	}
	waitFor(t, "the DSN for ghost", func() bool { return len(f.inbox(t, "alice")) == 1 })
	if len(f.peer.received()) != 0 {
		t.Error("local mail went to the peer")
	}
}

// TestSender_ShutdownReleases: a delivery cut off by shutdown before the
// peer answered is released, with no attempt counted, and sent by the
// next Sender.
func TestSender_ShutdownReleases(t *testing.T) {
	f := newFixture(t)
	f.peer.mu.Lock()
	f.peer.delay = 2 * time.Second
	f.peer.mu.Unlock()
	s1, stop := f.startStop(t, func(o *sender.Options) { o.Grace = 100 * time.Millisecond })
	m := f.queue(t, s1, "alice@acme.test", testMessage("shutdown"), "carol@remote.test")
	waitFor(t, "the peer to get DATA", func() bool {
		f.peer.mu.Lock()
		defer f.peer.mu.Unlock()
		return f.peer.datas == 1
	})
	stop()
	r := f.recipients(t, m)["carol@remote.test"]
	if r.Status != outboundrecipient.StatusQueued || r.Attempts != 0 || r.LeaseOwner != "" {
		t.Fatalf("after shutdown: %+v, want queued, no attempt, no lease", r)
	}
	if s1.Stats().Released != 1 {
		t.Errorf("stats %+v", s1.Stats())
	}

	f.peer.mu.Lock()
	f.peer.delay = 0
	f.peer.mu.Unlock()
	f.start(t, nil)
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)
	ev := f.events(t, m, "carol@remote.test")
	if strings.Join(ev, " ") != outbox.EventQueued+" "+outbox.EventDelivered {
		t.Errorf("events %v", ev)
	}
}
