package mailbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is a database with organizations A and B; A has accounts a1 and
// a2, B has b1, each with the standard mailboxes.
type fixture struct {
	c          *ent.Client
	st         *store.Store
	orgA, orgB pulid.ID
	a1, a2, b1 *account
}

// account is an account with the ids of its INBOX and Archive.
type account struct {
	*ent.Account
	inbox, archive pulid.ID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	f := &fixture{c: d.Client, st: store.New()}
	ctx := admin()
	f.orgA = must(d.Organization.Create().SetName("A").Save(ctx))(t).ID
	f.orgB = must(d.Organization.Create().SetName("B").Save(ctx))(t).ID
	f.a1 = f.newAccount(t, f.orgA, "a.test", "one")
	f.a2 = f.newAccount(t, f.orgA, "a.test", "two")
	f.b1 = f.newAccount(t, f.orgB, "b.test", "one")
	return f
}

func (f *fixture) newAccount(t testing.TB, org pulid.ID, domain, local string) *account {
	t.Helper()
	ctx := admin()
	var dom *ent.Domain
	for _, x := range must(f.c.Domain.Query().All(ctx))(t) {
		if x.Name == domain {
			dom = x
		}
	}
	if dom == nil {
		dom = must(f.c.Domain.Create().SetOrganizationID(org).SetName(domain).Save(ctx))(t)
	}
	a, _, err := directory.CreateAccount(ctx, f.c,
		ent.CreateAccountInput{DomainID: dom.ID, LocalPart: local}, "a long test password")
	if err != nil {
		t.Fatal(err)
	}
	acc := &account{Account: a}
	boxes := must(f.c.Mailbox.Query().Where(mailbox.AccountID(a.ID)).All(ctx))(t)
	for _, b := range boxes {
		switch b.Name {
		case "INBOX":
			acc.inbox = b.ID
		case "Archive":
			acc.archive = b.ID
		}
	}
	return acc
}

// deliver stores raw in mailbox mbx of acc as delivery does: the next UID,
// the blob (shared with identical earlier messages) and the used bytes.
func (f *fixture) deliver(t testing.TB, acc *account, mbx pulid.ID, raw string) *ent.Message {
	t.Helper()
	ctx := admin()
	b := must(f.st.Save(ctx, f.c, acc.OrganizationID, []byte(raw)))(t)
	box := must(f.c.Mailbox.UpdateOneID(mbx).AddUIDNext(1).Save(ctx))(t)
	m := must(f.c.Message.Create().
		SetAccountID(acc.ID).
		SetMailboxID(mbx).
		SetBlobID(b.ID).
		SetUID(box.UIDNext - 1).
		SetInternalDate(time.Now()).
		SetSize(int64(len(raw))).
		Save(ctx))(t)
	if err := f.c.Account.UpdateOneID(acc.ID).AddUsedBytes(int64(len(raw))).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

// deliverN delivers n distinct messages.
func (f *fixture) deliverN(t testing.TB, acc *account, mbx pulid.ID, n int) []*ent.Message {
	t.Helper()
	out := make([]*ent.Message, n)
	for i := range out {
		out[i] = f.deliver(t, acc, mbx, fmt.Sprintf("Subject: %d\r\n\r\nbody %d %s\r\n", i, i, mbx))
	}
	return out
}

func (f *fixture) mailbox(t testing.TB, id pulid.ID) *ent.Mailbox {
	t.Helper()
	return must(f.c.Mailbox.Get(admin(), id))(t)
}

func (f *fixture) message(t testing.TB, id pulid.ID) *ent.Message {
	t.Helper()
	return must(f.c.Message.Get(admin(), id))(t)
}

func (f *fixture) usedBytes(t testing.TB, acc *account) int64 {
	t.Helper()
	return must(f.c.Account.Get(admin(), acc.ID))(t).UsedBytes
}

func admin() context.Context { return viewer.AdminContext(context.Background()) }

// orgViewer returns a context for a tenant of org with scopes.
func orgViewer(org pulid.ID, scopes ...viewer.Scope) context.Context {
	return viewer.NewContext(context.Background(),
		&viewer.Viewer{Kind: viewer.KindOrg, OrgID: org, Scopes: scopes})
}

// accountViewer returns a context for acc's mailbox user.
func accountViewer(acc *account) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindAccount, OrgID: acc.OrganizationID, AccountID: acc.ID,
	})
}

// must returns a function that returns v, or fails its test if err is
// not nil: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ids(ms ...*ent.Message) []pulid.ID {
	out := make([]pulid.ID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }
