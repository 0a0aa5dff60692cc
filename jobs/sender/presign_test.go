package sender_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/dkimkey"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/sender"
	"github.com/lightr-mail/lightr/mail/directory"
	lightrdkim "github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
)

// queueSigned queues raw as mail/submit does: signed by outbox.Presign
// before the transaction.
func (f *fixture) queueSigned(t *testing.T, raw string, track bool, rcpts ...string) *ent.OutboundMessage {
	t.Helper()
	ctx := rule.SystemContext(context.Background())
	d, err := outbox.NewDomainCache(f.db.Client, 0).Get(ctx, f.domain.ID)
	check(t, err)
	m := &outbox.Message{
		Org: f.org.ID, Domain: f.domain.ID, Account: f.alice.ID,
		MailFrom: "alice@acme.test", Recipients: rcpts, Raw: []byte(raw), Source: outboundmessage.SourceAPI,
		TrackOpens: &track, TrackClicks: &track,
	}
	check(t, outbox.Presign(m, d))
	tx, err := f.db.Tx(ctx)
	check(t, err)
	out, err := outbox.Queue(ctx, tx.Client(), store.New(), m)
	if err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	check(t, tx.Commit())
	return out
}

// verify checks data's DKIM signatures against the domain's keys as they
// are in the database now, and returns the selectors that passed.
func (f *fixture) verify(t *testing.T, data []byte) []string {
	t.Helper()
	keys, err := f.db.DKIMKey.Query().Where(dkimkey.DomainID(f.domain.ID)).All(rule.SystemContext(context.Background()))
	check(t, err)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(data), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			for _, k := range keys {
				if name == lightrdkim.RecordName(k.Selector, "acme.test") {
					return []string{lightrdkim.RecordValue(string(k.Algorithm), k.PublicKey)}, nil
				}
			}
			return nil, fmt.Errorf("no record %s", name)
		},
	})
	check(t, err)
	var passed []string
	for _, v := range verifs {
		if v.Err != nil {
			t.Errorf("DKIM verification failed: %v", v.Err)
			continue
		}
		passed = append(passed, v.Domain)
	}
	return passed
}

// sendOne starts a Sender, waits until m's one recipient carol is
// delivered, and returns the Sender and the one copy the peer received.
func (f *fixture) sendOne(t *testing.T, m *ent.OutboundMessage) (*sender.Sender, []byte) {
	t.Helper()
	s := f.start(t, nil)
	s.Wake()
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)
	got := f.peer.received()
	if len(got) != 1 {
		t.Fatalf("peer received %d messages", len(got))
	}
	return s, got[0].data
}

// TestSender_Presigned: a message signed as it was queued goes out with
// exactly that signature, which verifies, and nothing signed twice.
func TestSender_Presigned(t *testing.T) {
	f := newFixture(t)
	m := f.queueSigned(t, testMessage("presigned"), false, "carol@remote.test")
	if m.DkimSignature == "" || !strings.HasPrefix(m.DkimSelectors, "s1:") {
		t.Fatalf("stored signature %q, selectors %q", m.DkimSignature, m.DkimSelectors)
	}
	s, data := f.sendOne(t, m)
	if !bytes.HasPrefix(data, []byte(m.DkimSignature)) {
		t.Errorf("sent message does not start with the stored signature:\n%.300s", data)
	}
	if n := bytes.Count(data, []byte("DKIM-Signature:")); n != 1 {
		t.Errorf("%d DKIM-Signature fields, want 1", n)
	}
	if passed := f.verify(t, data); len(passed) != 1 {
		t.Errorf("verified signatures %v, want one", passed)
	}
	if st := s.Stats(); st.Signed != 0 {
		t.Errorf("the workers signed %d copies, want none", st.Signed)
	}
}

// TestSender_PresignedKeyChanged: when the key that signed a queued
// message is retired, or deleted and made again under the same selector
// (another public key, which the stored signature would fail against),
// before the message is sent, the worker signs afresh with the domain's
// key of now instead of sending a signature whose record is going away.
func TestSender_PresignedKeyChanged(t *testing.T) {
	for _, tc := range []struct {
		name, selector string
		change         func(context.Context, *fixture) error
	}{
		{"rotated to s2", "s2", func(ctx context.Context, f *fixture) error {
			return f.db.DKIMKey.Update().Where(dkimkey.DomainID(f.domain.ID), dkimkey.Selector("s1")).
				SetActive(false).Exec(ctx)
		}},
		{"replaced under s1", "s1", func(ctx context.Context, f *fixture) error {
			_, err := f.db.DKIMKey.Delete().Where(dkimkey.DomainID(f.domain.ID), dkimkey.Selector("s1")).Exec(ctx)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.queueSigned(t, testMessage("changed"), false, "carol@remote.test")
			check(t, tc.change(rule.SystemContext(context.Background()), f))
			_, err := directory.AddDKIMKey(f.admin, f.db.Client, f.domain, tc.selector, "rsa", 1024)
			check(t, err)

			s, data := f.sendOne(t, m)
			if bytes.Contains(data, []byte(m.DkimSignature)) {
				t.Error("the stored signature of the old key was sent")
			}
			if !bytes.Contains(data, []byte("s="+tc.selector+";")) {
				t.Errorf("not signed with %s:\n%.400s", tc.selector, data)
			}
			if passed := f.verify(t, data); len(passed) != 1 {
				t.Errorf("verified signatures %v, want one", passed)
			}
			if st := s.Stats(); st.Signed != 1 {
				t.Errorf("the workers signed %d copies, want 1", st.Signed)
			}
		})
	}
}

// TestPresign_Tracked: a tracked message is left for the workers to sign,
// since tracking rewrites it per recipient; the tracking decision is kept.
func TestPresign_Tracked(t *testing.T) {
	f := newFixture(t)
	m := f.queueSigned(t, testMessage("tracked"), true, "carol@remote.test")
	if m.DkimSignature != "" || !m.TrackOpens || !m.TrackClicks {
		t.Errorf("tracked message: signature %q, track %v/%v", m.DkimSignature, m.TrackOpens, m.TrackClicks)
	}
	if strings.Contains(m.DkimSelectors, "s1") {
		t.Errorf("selectors %q stored for an unsigned message", m.DkimSelectors)
	}
}
