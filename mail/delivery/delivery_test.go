package delivery_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/blob"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/store"
)

// TestDeliver_TwoOrganizations delivers one message to accounts of two
// organizations: each gets its own blob, message and event, all in its
// own organization, with every cache column filled.
func TestDeliver_TwoOrganizations(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	raw := rawMessage(4096)
	at := time.Date(2026, 3, 1, 12, 31, 0, 0, time.UTC)
	m := &delivery.Message{
		Raw: raw, Parsed: parsed("Quarterly numbers"),
		SPF: "pass", DKIM: "fail", DMARC: "none", AuthResults: "mx.a.example; spf=pass",
		InternalDate: at,
		Recipients:   []delivery.Recipient{f.rcpt("alice", "INBOX"), f.rcpt("carol", "")},
	}
	got, errs, err := d.Deliver(context.Background(), m)
	if err != nil || errs != nil {
		t.Fatalf("Deliver = %v, %v", errs, err)
	}
	if len(got) != 2 {
		t.Fatalf("delivered %d copies, want 2", len(got))
	}

	for i, user := range []string{"alice", "carol"} {
		acc := f.accounts[user]
		inbox := f.mailbox(t, user, "INBOX")
		want := delivery.Delivered{Recipient: f.rcpt(user, "INBOX"), MessageID: got[i].MessageID,
			MailboxID: inbox.ID, UID: 1}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("%s: delivered (-want +got):\n%s", user, diff)
		}

		msg, err := f.db.Message.Get(f.admin, got[i].MessageID)
		check(t, err)
		b, err := f.db.Blob.Get(f.admin, msg.BlobID)
		check(t, err)
		if b.OrganizationID != acc.OrganizationID || msg.OrganizationID != acc.OrganizationID {
			t.Errorf("%s: message in %s, blob in %s, want %s", user, msg.OrganizationID,
				b.OrganizationID, acc.OrganizationID)
		}
		checkMessageRow(t, msg, m, acc, inbox)
		if inbox.UIDNext != 2 || inbox.HighestModseq != msg.Modseq || msg.Modseq != 2 {
			t.Errorf("%s: uid_next %d, highest_modseq %d, message modseq %d; want 2, 2, 2",
				user, inbox.UIDNext, inbox.HighestModseq, msg.Modseq)
		}
		if used := f.account(t, user).UsedBytes; used != int64(len(raw)) {
			t.Errorf("%s: used_bytes = %d, want %d", user, used, len(raw))
		}
		checkEvent(t, f, got[i], "Quarterly numbers", int64(len(raw)))
	}
	if n := f.db.Blob.Query().CountX(f.admin); n != 2 {
		t.Errorf("%d blobs, want one per organization", n)
	}
}

// checkMessageRow compares the row Ent reads back with what delivery was
// given.
func checkMessageRow(t *testing.T, got *ent.Message, m *delivery.Message, acc *ent.Account,
	mb *ent.Mailbox) {
	t.Helper()
	p := m.Parsed
	atts, err := message.EncodeAttachments(p.Attachments)
	check(t, err)
	want := *got
	want.AccountID, want.MailboxID, want.UID = acc.ID, mb.ID, 1
	want.Seen, want.Answered, want.Flagged, want.Deleted, want.Draft = false, false, false, false, false
	want.Keywords = nil
	want.Size = int64(len(m.Raw))
	want.Subject, want.FromAddress, want.FromName = p.Subject, p.From.Email, p.From.Name
	want.ToAddresses = []string{"alice@a.example", "bob@a.example"}
	want.CcAddresses = []string{"carol@b.example"}
	want.MessageIDHeader, want.Preview, want.HasAttachments = p.MessageID, p.Preview, true
	want.Attachments, want.Envelope, want.BodyStructure = atts, p.Envelope, p.BodyStructure
	want.AuthResults, want.SpfResult, want.DkimResult, want.DmarcResult =
		m.AuthResults, m.SPF, m.DKIM, m.DMARC
	if diff := cmp.Diff(&want, got, cmpopts.IgnoreUnexported(ent.Message{}),
		cmpopts.IgnoreFields(ent.Message{}, "Edges")); diff != "" {
		t.Errorf("message row (-want +got):\n%s", diff)
	}
	if !got.InternalDate.Equal(m.InternalDate) || got.SentAt == nil || !got.SentAt.Equal(*p.Date) {
		t.Errorf("internal_date %v, sent_at %v; want %v, %v", got.InternalDate, got.SentAt,
			m.InternalDate, *p.Date)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("created_at %v, updated_at %v", got.CreatedAt, got.UpdatedAt)
	}
}

// checkEvent checks the one message.received event of a copy.
func checkEvent(t *testing.T, f *fixture, dv delivery.Delivered, subject string, size int64) {
	t.Helper()
	ev, err := f.db.Event.Query().Where(event.MessageID(dv.MessageID)).Only(f.admin)
	check(t, err)
	rc := dv.Recipient
	want := &ent.Event{
		ID: ev.ID, OrganizationID: rc.OrgID, Type: delivery.EventReceived, DomainID: rc.DomainID,
		AccountID: rc.AccountID, MessageID: dv.MessageID, Recipient: rc.Address,
		Payload: map[string]any{"mailbox": rc.Mailbox, "uid": float64(dv.UID),
			"subject": subject, "from": "sender@remote.example", "size": float64(size)},
		CreatedAt: ev.CreatedAt, Seq: ev.Seq,
	}
	if ev.Seq <= 0 {
		t.Errorf("event seq %d, want the trigger's positive number", ev.Seq)
	}
	if diff := cmp.Diff(want, ev, cmpopts.IgnoreUnexported(ent.Event{}),
		cmpopts.IgnoreFields(ent.Event{}, "Edges")); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// TestDeliver_SameOrganizationSharesBlob stores the bytes once for two
// accounts of one organization, and once again for a later copy.
func TestDeliver_SameOrganizationSharesBlob(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	raw := rawMessage(2000)
	ctx := context.Background()
	got, _, err := d.Deliver(ctx, &delivery.Message{Raw: raw,
		Recipients: []delivery.Recipient{f.rcpt("alice", ""), f.rcpt("bob", "")}})
	check(t, err)
	again, _, err := d.Deliver(ctx, &delivery.Message{Raw: raw,
		Recipients: []delivery.Recipient{f.rcpt("erin", "")}})
	check(t, err)

	blobs := f.db.Blob.Query().Where(blob.OrganizationID(f.accounts["alice"].OrganizationID)).
		AllX(f.admin)
	if len(blobs) != 1 {
		t.Fatalf("%d blobs, want 1", len(blobs))
	}
	for _, dv := range append(got, again...) {
		msg, err := f.db.Message.Get(f.admin, dv.MessageID)
		check(t, err)
		if msg.BlobID != blobs[0].ID {
			t.Errorf("%s: blob %s, want %s", dv.Recipient.Address, msg.BlobID, blobs[0].ID)
		}
	}
	data, err := store.New().Load(f.admin, f.db.Client, blobs[0])
	check(t, err)
	if string(data) != string(raw) {
		t.Error("stored bytes differ from the message")
	}
}

// TestDeliver_NilParsed stores a message with empty cache columns.
func TestDeliver_NilParsed(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	before := time.Now()
	got, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: []byte("x"),
		Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
	check(t, err)
	msg, err := f.db.Message.Get(f.admin, got[0].MessageID)
	check(t, err)
	if msg.Subject != "" || msg.ToAddresses != nil || msg.SentAt != nil || msg.Envelope != nil ||
		msg.Attachments != nil || msg.HasAttachments || msg.Size != 1 {
		t.Errorf("cache columns not empty: %+v", msg)
	}
	if msg.InternalDate.Before(before.Add(-time.Second)) {
		t.Errorf("internal_date %v, want about now", msg.InternalDate)
	}
}

// TestDeliver_Mailboxes puts mail in the mailbox asked for, INBOX in any
// case, and INBOX for a mailbox that does not exist.
func TestDeliver_Mailboxes(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	for _, tc := range []struct{ ask, want string }{
		{"Junk", "Junk"}, {"inbox", "INBOX"}, {"", "INBOX"}, {"No Such Box", "INBOX"},
		{"junk", "INBOX"}, // names other than INBOX are case-sensitive (RFC 9051 §5.1)
	} {
		got, errs, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(100),
			Recipients: []delivery.Recipient{f.rcpt("alice", tc.ask)}})
		if err != nil || errs != nil {
			t.Fatalf("%q: Deliver = %v, %v", tc.ask, errs, err)
		}
		mb := f.mailbox(t, "alice", tc.want)
		if got[0].MailboxID != mb.ID || got[0].Recipient.Mailbox != tc.want {
			t.Errorf("%q: went to %s (%s), want %s", tc.ask, got[0].MailboxID,
				got[0].Recipient.Mailbox, tc.want)
		}
	}
}

// TestDeliver_DuplicateRecipient stores one copy for an account named
// twice, and reports it for both.
func TestDeliver_DuplicateRecipient(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	got, errs, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(100),
		Recipients: []delivery.Recipient{f.rcpt("alice", ""), f.rcpt("alice", "INBOX")}})
	if err != nil || errs != nil {
		t.Fatalf("Deliver = %v, %v", errs, err)
	}
	if len(got) != 2 || got[0].MessageID != got[1].MessageID {
		t.Errorf("delivered %+v, want the same copy twice", got)
	}
	if n := f.db.Message.Query().CountX(f.admin); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// TestDeliver_OverQuota fails only the recipient over quota, and leaves
// nothing behind for it.
func TestDeliver_OverQuota(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	ctx := context.Background()
	check(t, f.db.Account.UpdateOneID(f.accounts["bob"].ID).SetQuotaBytes(1000).Exec(f.admin))

	if err := d.CheckQuota(ctx, f.accounts["bob"].ID, 1000); err != nil {
		t.Errorf("CheckQuota(1000) = %v, want nil", err)
	}
	if err := d.CheckQuota(ctx, f.accounts["bob"].ID, 1001); !errors.Is(err, delivery.ErrOverQuota) {
		t.Errorf("CheckQuota(1001) = %v, want ErrOverQuota", err)
	}
	if err := d.CheckQuota(ctx, f.accounts["alice"].ID, 1<<40); err != nil {
		t.Errorf("CheckQuota(unlimited) = %v, want nil", err)
	}
	if err := d.CheckQuota(ctx, pulid.New("acc"), 1); !errors.Is(err, delivery.ErrNoAccount) {
		t.Errorf("CheckQuota(unknown) = %v, want ErrNoAccount", err)
	}

	ghost := f.rcpt("erin", "")
	ghost.AccountID = pulid.New("acc")
	got, errs, err := d.Deliver(ctx, &delivery.Message{Raw: rawMessage(1500),
		Recipients: []delivery.Recipient{f.rcpt("bob", ""), f.rcpt("alice", ""), ghost}})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 3 || !errors.Is(errs[0], delivery.ErrOverQuota) || errs[1] != nil ||
		!errors.Is(errs[2], delivery.ErrNoAccount) {
		t.Fatalf("errs = %v, want [over quota, nil, no account]", errs)
	}
	if len(got) != 1 || got[0].Recipient.AccountID != f.accounts["alice"].ID {
		t.Errorf("delivered %+v, want alice only", got)
	}
	bob := f.account(t, "bob")
	inbox := f.mailbox(t, "bob", "INBOX")
	if bob.UsedBytes != 0 || inbox.UIDNext != 1 || inbox.HighestModseq != 1 {
		t.Errorf("bob: used_bytes %d, uid_next %d, highest_modseq %d; want 0, 1, 1",
			bob.UsedBytes, inbox.UIDNext, inbox.HighestModseq)
	}
	n := f.db.Event.Query().Where(event.AccountID(bob.ID)).CountX(f.admin)
	if n != 0 {
		t.Errorf("%d events for bob, want 0", n)
	}
}

// TestDeliver_WrongOrganization refuses a target whose organization is not
// its account's, so that no row links two organizations.
func TestDeliver_WrongOrganization(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	r := f.rcpt("alice", "")
	r.OrgID = f.accounts["carol"].OrganizationID
	_, errs, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(100),
		Recipients: []delivery.Recipient{r}})
	if err != nil || len(errs) != 1 || !errors.Is(errs[0], delivery.ErrNoAccount) {
		t.Fatalf("Deliver = %v, %v; want ErrNoAccount for the recipient", errs, err)
	}
	if n := f.db.Message.Query().CountX(f.admin) + f.db.Blob.Query().CountX(f.admin); n != 0 {
		t.Errorf("%d rows stored, want none", n)
	}
}

// TestDeliver_NoRecipients refuses an empty message before queueing it.
func TestDeliver_NoRecipients(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	if _, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: []byte("x")}); !errors.Is(
		err, delivery.ErrNoRecipients) {
		t.Errorf("Deliver = %v, want ErrNoRecipients", err)
	}
}

// TestDeliver_ParsedMessage stores what message.Parse found in a real
// message, and the cached ENVELOPE and BODYSTRUCTURE decode again.
func TestDeliver_ParsedMessage(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	raw := []byte("From: =?utf-8?q?J=C3=B6rg?= <jorg@remote.example>\r\n" +
		"To: alice@a.example, Bob <bob@a.example>\r\n" +
		"Subject: Report attached\r\n" +
		"Date: Sun, 01 Mar 2026 12:30:00 +0000\r\n" +
		"Message-ID: <report-1@remote.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nThe report, as promised.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=report.pdf\r\n" +
		"Content-Disposition: attachment; filename=report.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n")
	p := message.Parse(raw, message.Limits{})
	got, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: raw, Parsed: p,
		Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
	check(t, err)

	msg, err := f.db.Message.Get(f.admin, got[0].MessageID)
	check(t, err)
	if msg.Subject != "Report attached" || msg.FromName != "Jörg" ||
		msg.FromAddress != "jorg@remote.example" || msg.MessageIDHeader != "report-1@remote.example" ||
		!msg.HasAttachments || msg.SentAt == nil ||
		!cmp.Equal(msg.ToAddresses, []string{"alice@a.example", "bob@a.example"}) {
		t.Errorf("cache columns: %+v", msg)
	}
	atts, err := message.DecodeAttachments(msg.Attachments)
	check(t, err)
	if diff := cmp.Diff(p.Attachments, atts); diff != "" {
		t.Errorf("attachments (-parsed +stored):\n%s", diff)
	}
	if string(msg.Envelope) != string(p.Envelope) || string(msg.BodyStructure) != string(p.BodyStructure) ||
		len(msg.BodyStructure) == 0 {
		t.Errorf("envelope or body structure differ from the parser's")
	}
}

// TestDeliver_AllOrNothing stores nothing when one recipient of an
// AllOrNothing message is over quota, alone or in a batch with other
// messages, and says which recipient it was.
func TestDeliver_AllOrNothing(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{MaxDelay: 50 * time.Millisecond})
	ctx := context.Background()
	check(t, f.db.Account.UpdateOneID(f.accounts["bob"].ID).SetQuotaBytes(1000).Exec(f.admin))

	var wg sync.WaitGroup
	var partialErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _, partialErr = d.Deliver(ctx, &delivery.Message{Raw: rawMessage(1500), AllOrNothing: true,
			Recipients: []delivery.Recipient{f.rcpt("alice", ""), f.rcpt("bob", "")}})
	}()
	go func() { // shares the batch, and must not be harmed
		defer wg.Done()
		if _, _, err := d.Deliver(ctx, &delivery.Message{Raw: rawMessage(500), AllOrNothing: true,
			Recipients: []delivery.Recipient{f.rcpt("alice", "")}}); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()

	var re *delivery.RecipientsError
	if !errors.As(partialErr, &re) || len(re.Errs) != 2 || re.Errs[0] != nil ||
		!errors.Is(re.Errs[1], delivery.ErrOverQuota) || !errors.Is(partialErr, delivery.ErrOverQuota) {
		t.Fatalf("err = %v, want a RecipientsError [nil, over quota]", partialErr)
	}
	alice := f.account(t, "alice")
	if n := f.db.Message.Query().CountX(f.admin); n != 1 || alice.UsedBytes != 500 {
		t.Errorf("%d messages stored, alice used %d bytes; want only the 500-byte one", n, alice.UsedBytes)
	}
}
