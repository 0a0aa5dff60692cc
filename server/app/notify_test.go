package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/db"
)

// TestPublishDelivered_WakesAfterCommit delivers through a Deliverer
// wired as openMail wires it: the subscriber of the recipient's INBOX
// wakes and then finds the message in the database; subscribers of the
// recipient's Junk and of another account's INBOX stay asleep.
func TestPublishDelivered_WakesAfterCommit(t *testing.T) {
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	alice, bob := newAccounts(t, d.Client)

	hub := notify.New()
	inbox := hub.Subscribe(mailboxID(t, d.Client, alice, "INBOX"))
	junk := hub.Subscribe(mailboxID(t, d.Client, alice, "Junk"))
	other := hub.Subscribe(mailboxID(t, d.Client, bob, "INBOX"))
	for _, s := range []*notify.Subscription{inbox, junk, other} {
		defer s.Close()
	}

	// Read the mailbox the moment the wake-up arrives, as IMAP IDLE will.
	seen := make(chan int, 1)
	go func() {
		select {
		case <-inbox.C:
			n, err := d.Message.Query().Where(message.MailboxID(inbox.ID())).Count(ctx)
			if err != nil {
				t.Error(err)
			}
			seen <- n
		case <-time.After(5 * time.Second):
			seen <- -1
		}
	}()

	dl := delivery.New(d, store.New(), delivery.Options{OnCommit: publishDelivered(hub)})
	defer func() { _ = dl.Close() }()
	raw := []byte("From: a@remote.example\r\nSubject: hi\r\n\r\nhello\r\n")
	_, errs, err := dl.Deliver(ctx, &delivery.Message{
		Raw: raw,
		Recipients: []delivery.Recipient{{Target: directory.Target{
			Address: alice.Email, AccountID: alice.ID, OrgID: alice.OrganizationID,
			DomainID: alice.DomainID,
		}}},
	})
	if err != nil || errs != nil {
		t.Fatalf("Deliver: %v %v", err, errs)
	}

	if n := <-seen; n != 1 {
		t.Fatalf("the INBOX subscriber found %d messages on waking, want 1 (-1: never woke)", n)
	}
	for name, s := range map[string]*notify.Subscription{"Junk": junk, "bob's INBOX": other} {
		select {
		case <-s.C:
			t.Errorf("the subscriber of %s woke", name)
		default:
		}
	}
}

// newAccounts creates two accounts of one organization, with the
// standard mailboxes.
func newAccounts(t *testing.T, c *ent.Client) (a, b *ent.Account) {
	t.Helper()
	ctx := viewer.AdminContext(context.Background())
	// Cheap password hashes: no password is ever checked here.
	auth.PasswordParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	org, err := c.Organization.Create().SetName("A").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := directory.CreateDomain(ctx, c, &org.ID, ent.CreateDomainInput{Name: "a.example"})
	if err != nil {
		t.Fatal(err)
	}
	var out [2]*ent.Account
	for i, local := range []string{"alice", "bob"} {
		out[i], _, err = directory.CreateAccount(ctx, c,
			ent.CreateAccountInput{LocalPart: local, DomainID: dom.ID}, "a long test password")
		if err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

// mailboxID returns the id of a's mailbox called name.
func mailboxID(t *testing.T, c *ent.Client, a *ent.Account, name string) pulid.ID {
	t.Helper()
	ctx := viewer.AdminContext(context.Background())
	id, err := c.Mailbox.Query().
		Where(mailbox.AccountID(a.ID), mailbox.Name(name)).OnlyID(ctx)
	if err != nil {
		t.Fatalf("mailbox %s of %s: %v", name, a.Email, err)
	}
	return id
}
