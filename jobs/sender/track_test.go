package sender_test

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/lightr-mail/lightr/ent/dkimkey"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/sender"
	lightrdkim "github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/track"
)

const trackedHTML = "From: alice@acme.test\r\nTo: carol@remote.test\r\nSubject: news\r\n" +
	"Message-ID: <news@acme.test>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<html><body><p>Read <a href=3D\"https://example.com/post\">the post</a>.</p></body></html>\r\n"

var (
	clickRe = regexp.MustCompile(`https://t\.acme\.test/t/c/([A-Za-z0-9_-]+)`)
	openRe  = regexp.MustCompile(`https://t\.acme\.test/t/o/([A-Za-z0-9_-]+)`)
)

// TestSender_Tracked: a tracked message to two recipients of one domain
// goes as one copy each, with links naming each recipient, rewritten
// before signing so that DKIM verifies; the stored message is untouched.
func TestSender_Tracked(t *testing.T) {
	f := newFixture(t)
	sys := rule.SystemContext(context.Background())
	check(t, f.db.Domain.UpdateOne(f.domain).SetTrackingHost("t.acme.test").Exec(sys))
	sg, err := track.NewSigner(bytes.Repeat([]byte{1}, track.KeySize))
	check(t, err)
	// Tracking is switched on before any worker runs, which could
	// otherwise claim the message first.
	m := f.queue(t, nil, "alice@acme.test", trackedHTML, "carol@remote.test", "dave@remote.test")
	check(t, f.db.OutboundMessage.UpdateOne(m).SetTrackOpens(true).SetTrackClicks(true).Exec(sys))
	f.start(t, func(o *sender.Options) {
		o.Tracking = sender.Tracking{Signer: sg, BaseURL: "http://unused.test"}
	})
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)
	f.waitStatus(t, m, "dave@remote.test", outboundrecipient.StatusDelivered)

	got := f.peer.received()
	if len(got) != 2 {
		t.Fatalf("peer received %d messages, want one per recipient", len(got))
	}
	key, err := f.db.DKIMKey.Query().Where(dkimkey.DomainID(f.domain.ID)).Only(sys)
	check(t, err)
	rcpts := f.recipients(t, m)
	var named []string
	for _, g := range got {
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(g.data), &dkim.VerifyOptions{
			LookupTXT: func(string) ([]string, error) {
				return []string{lightrdkim.RecordValue(string(key.Algorithm), key.PublicKey)}, nil
			},
		})
		check(t, err)
		if len(verifs) != 1 || verifs[0].Err != nil {
			t.Errorf("DKIM verifications %+v", verifs)
		}
		if len(g.to) != 1 {
			t.Fatalf("a copy went to %v", g.to)
		}
		body := string(bytes.ReplaceAll(g.data, []byte("=\r\n"), nil))
		c, o := clickRe.FindStringSubmatch(body), openRe.FindStringSubmatch(body)
		if c == nil || o == nil {
			t.Fatalf("copy to %v not tracked:\n%s", g.to, g.data)
		}
		ct, err := sg.Decode(track.KindClick, c[1])
		check(t, err)
		ot, err := sg.Decode(track.KindOpen, o[1])
		check(t, err)
		want := rcpts[g.to[0]].ID
		if ct.URL != "https://example.com/post" || ct.Recipient != want || ot.Recipient != want ||
			ct.Message != m.ID {
			t.Errorf("copy to %s: tokens %+v, %+v", g.to[0], ct, ot)
		}
		named = append(named, g.to[0])
	}
	sort.Strings(named)
	if named[0] != "carol@remote.test" || named[1] != "dave@remote.test" {
		t.Errorf("copies went to %v", named)
	}
}

// TestSender_NotTracked: without the message's flags, the HTML goes as
// queued.
func TestSender_NotTracked(t *testing.T) {
	f := newFixture(t)
	sg, err := track.NewSigner(bytes.Repeat([]byte{1}, track.KeySize))
	check(t, err)
	s := f.start(t, func(o *sender.Options) { o.Tracking = sender.Tracking{Signer: sg, BaseURL: "http://t.test"} })
	m := f.queue(t, s, "alice@acme.test", trackedHTML, "carol@remote.test", "dave@remote.test")
	f.waitStatus(t, m, "carol@remote.test", outboundrecipient.StatusDelivered)
	got := f.peer.received()
	if len(got) != 1 || bytes.Contains(got[0].data, []byte("/t/")) ||
		!bytes.Contains(got[0].data, []byte(`href=3D"https://example.com/post"`)) {
		t.Fatalf("untracked message changed or split: %d copies", len(got))
	}
}
