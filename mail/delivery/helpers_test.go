package delivery_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is a database with two organizations: A (a.example: alice, bob,
// erin) and B (b.example: carol).
type fixture struct {
	path     string
	db       *db.DB
	admin    context.Context
	accounts map[string]*ent.Account // by local part
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	// Cheap password hashes: no password is ever checked here.
	auth.PasswordParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	f := &fixture{
		path:     filepath.Join(t.TempDir(), "lightr.db"),
		admin:    viewer.AdminContext(context.Background()),
		accounts: make(map[string]*ent.Account),
	}
	var err error
	f.db, err = db.Open(f.admin, db.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.db.Close() })

	for org, users := range map[string][]string{"a.example": {"alice", "bob", "erin"},
		"b.example": {"carol"}} {
		o, err := f.db.Organization.Create().SetName(org).Save(f.admin)
		check(t, err)
		dom, err := directory.CreateDomain(f.admin, f.db.Client, &o.ID, ent.CreateDomainInput{Name: org})
		check(t, err)
		for _, u := range users {
			a, _, err := directory.CreateAccount(f.admin, f.db.Client,
				ent.CreateAccountInput{LocalPart: u, DomainID: dom.ID}, "a long test password")
			check(t, err)
			f.accounts[u] = a
		}
	}
	return f
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// deliverer returns a Deliverer on f's database, closed at the end of the
// test.
func (f *fixture) deliverer(t testing.TB, o delivery.Options) *delivery.Deliverer {
	t.Helper()
	d := delivery.New(f.db, store.New(), o)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// rcpt returns the recipient for the account with local part user.
func (f *fixture) rcpt(user, mbox string) delivery.Recipient {
	a := f.accounts[user]
	return delivery.Recipient{
		Target: directory.Target{Address: a.Email, AccountID: a.ID, OrgID: a.OrganizationID,
			DomainID: a.DomainID},
		Mailbox: mbox,
	}
}

// mailbox returns the account's mailbox with the given name.
func (f *fixture) mailbox(t testing.TB, user, name string) *ent.Mailbox {
	t.Helper()
	mb, err := f.db.Mailbox.Query().
		Where(mailbox.AccountID(f.accounts[user].ID), mailbox.Name(name)).Only(f.admin)
	check(t, err)
	return mb
}

// account reloads the account with local part user.
func (f *fixture) account(t testing.TB, user string) *ent.Account {
	t.Helper()
	a, err := f.db.Account.Get(f.admin, f.accounts[user].ID)
	check(t, err)
	return a
}

var rawSeq atomic.Int64

// rawMessage returns a distinct message of about size bytes.
func rawMessage(size int) []byte {
	n := rawSeq.Add(1)
	head := fmt.Sprintf("Return-Path: <sender@remote.example>\r\nFrom: Sender <sender@remote.example>\r\n"+
		"To: someone@a.example\r\nSubject: test %d\r\nMessage-ID: <%d@remote.example>\r\n\r\n", n, n)
	body := make([]byte, 0, size)
	body = append(body, head...)
	for len(body) < size {
		body = append(body, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"...)
	}
	return body[:max(size, len(head))]
}

// parsed returns cache fields for a message.
func parsed(subject string) *message.Parsed {
	date := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	return &message.Parsed{
		Subject:        subject,
		From:           message.Address{Name: "Sender", Email: "sender@remote.example"},
		To:             []message.Address{{Email: "alice@a.example"}, {Name: "Bob", Email: "bob@a.example"}},
		Cc:             []message.Address{{Email: "carol@b.example"}},
		Date:           &date,
		MessageID:      "1@remote.example",
		Preview:        "Hello there",
		HasAttachments: true,
		Attachments:    make([]message.Attachment, 1),
		Envelope:       []byte("(envelope)"),
		BodyStructure:  []byte("(bodystructure)"),
	}
}
