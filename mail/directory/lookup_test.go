package directory_test

import (
	"context"
	stdsql "database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/db"
)

// countingDriver counts the raw queries a lookup makes.
type countingDriver struct {
	*db.Driver
	queries atomic.Int64
}

// QueryContext counts, then runs the query.
func (d *countingDriver) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	d.queries.Add(1)
	return d.Driver.QueryContext(ctx, q, args...)
}

// lookupFixture is a directory of three organizations.
type lookupFixture struct {
	c        *ent.Client
	counter  *countingDriver
	accounts map[string]*ent.Account // by address
}

func newLookupFixture(t testing.TB) *lookupFixture {
	t.Helper()
	// Cheap password hashes: the accounts' passwords are never checked.
	auth.PasswordParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	f := &lookupFixture{c: d.Client, accounts: make(map[string]*ent.Account)}
	f.counter = &countingDriver{Driver: d.Driver}

	doms := map[string]*ent.Domain{}
	for _, o := range []struct {
		org, dom string
		disabled bool
	}{{"A", "a.example", false}, {"B", "b.example", false}, {"C", "c.example", true}} {
		org, err := d.Organization.Create().SetName(o.org).SetDisabled(o.disabled).Save(ctx)
		check(t, err)
		doms[o.dom], err = directory.CreateDomain(ctx, d.Client, &org.ID,
			ent.CreateDomainInput{Name: o.dom})
		check(t, err)
	}
	for _, a := range []struct {
		local, dom string
		disabled   bool
	}{
		{"alice", "a.example", false}, {"bob", "a.example", false}, {"dave", "a.example", true},
		{"carol", "b.example", false}, {"erin", "c.example", false},
	} {
		dis := a.disabled
		acc, _, err := directory.CreateAccount(ctx, d.Client, ent.CreateAccountInput{
			LocalPart: a.local, DomainID: doms[a.dom].ID, Disabled: &dis}, "a long test password")
		check(t, err)
		f.accounts[acc.Email] = acc
	}

	aliases := map[string][]string{
		"team":     {"alice@a.example", "Bob@A.Example", "carol@b.example", "alice@a.example"},
		"chain1":   {"chain2@a.example"},
		"chain2":   {"chain3@a.example"},
		"chain3":   {"alice+x@a.example"},
		"loop1":    {"loop2@a.example"},
		"loop2":    {"loop1@a.example", "bob@a.example"},
		"spin1":    {"spin2@a.example"},
		"spin2":    {"spin1@a.example"},
		"external": {"someone@remote.example", "nobody@a.example"},
		"gone":     {"dave@a.example"},
		"mixed":    {"dave@a.example", "erin@c.example", "bob@a.example"},
		"deep1":    {"deep2@a.example"}, "deep2": {"deep3@a.example"},
		"deep3": {"deep4@a.example"}, "deep4": {"deep5@a.example"},
		"deep5": {"alice@a.example"},
		"over1": {"over2@a.example"}, "over2": {"over3@a.example"},
		"over3": {"over4@a.example"}, "over4": {"over5@a.example"},
		"over5": {"over6@a.example"}, "over6": {"alice@a.example"},
	}
	for local, dests := range aliases {
		_, err := directory.CreateAlias(ctx, d.Client, ent.CreateAliasInput{
			LocalPart: local, DomainID: doms["a.example"].ID, Destinations: dests})
		check(t, err)
	}

	// Rows the directory would refuse, written directly: an alias with an
	// account's address, and an alias with a tagged address.
	a := doms["a.example"]
	for email, dest := range map[string]string{"bob@a.example": "alice@a.example",
		"alice+vip@a.example": "bob@a.example"} {
		check(t, d.MailAlias.Create().SetOrganizationID(a.OrganizationID).SetDomainID(a.ID).
			SetLocalPart("x").SetEmail(email).SetDestinations([]string{dest}).Exec(ctx))
	}
	return f
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// target returns the Target of the account with the given address.
func (f *lookupFixture) target(email string) directory.Target {
	a := f.accounts[email]
	return directory.Target{Address: a.Email, AccountID: a.ID, OrgID: a.OrganizationID,
		DomainID: a.DomainID}
}

func TestLookupRecipient_Resolves(t *testing.T) {
	f := newLookupFixture(t)
	alice, bob, carol := "alice@a.example", "bob@a.example", "carol@b.example"
	tests := []struct {
		addr    string
		want    []string
		queries int64
	}{
		{"alice@a.example", []string{alice}, 2},
		{"ALICE@A.Example", []string{alice}, 2},
		{" Alice@a.example. ", []string{alice}, 2},
		{"alice+news@a.example", []string{alice}, 2},
		{"Alice+News+More@A.EXAMPLE", []string{alice}, 2},
		{"alice+vip@a.example", []string{bob}, 3}, // the tagged alias exists
		{"bob@a.example", []string{bob}, 2},       // the account wins over the alias
		{"team@a.example", []string{alice, bob, carol}, 4},
		{"chain1@a.example", []string{alice}, 5},
		{"loop1@a.example", []string{bob}, 4},
		{"mixed@a.example", []string{bob}, 4},
		{"deep1@a.example", []string{alice}, 7},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			c := ent.NewClient(ent.Driver(f.counter))
			f.counter.queries.Store(0)
			got, err := directory.LookupRecipient(context.Background(), c, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			var want []directory.Target
			for _, a := range tc.want {
				want = append(want, f.target(a))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if n := f.counter.queries.Load(); n != tc.queries {
				t.Errorf("queries = %d, want %d", n, tc.queries)
			}
		})
	}
}

func TestLookupRecipient_Refuses(t *testing.T) {
	f := newLookupFixture(t)
	tests := []struct {
		addr string
		want error
	}{
		{"alice@elsewhere.example", directory.ErrNotHosted},
		{"alice@example", directory.ErrNotHosted},
		{"nobody@a.example", directory.ErrNoSuchUser},
		{"+news@a.example", directory.ErrNoSuchUser},
		{"external@a.example", directory.ErrNoSuchUser},
		{"spin1@a.example", directory.ErrNoSuchUser},
		{"over1@a.example", directory.ErrNoSuchUser}, // past MaxAliasDepth
		{"dave@a.example", directory.ErrDisabled},
		{"dave+tag@a.example", directory.ErrDisabled},
		{"gone@a.example", directory.ErrDisabled},
		{"erin@c.example", directory.ErrDisabled}, // the organization is disabled
		{"no-at-sign", directory.ErrInvalidAddress},
		{"@a.example", directory.ErrInvalidAddress},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := directory.LookupRecipient(context.Background(), f.c, tc.addr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("LookupRecipient = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestLookupRecipient_InTransaction checks that the lookup works on a
// transaction's client, as delivery may use it, without a viewer.
func TestLookupRecipient_InTransaction(t *testing.T) {
	f := newLookupFixture(t)
	ctx := context.Background()
	tx, err := f.c.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	got, err := directory.LookupRecipient(ctx, tx.Client(), "carol@b.example")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]directory.Target{f.target("carol@b.example")}, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

// BenchmarkLookupRecipient measures the lookup of a plain account and of
// an alias with three destinations.
func BenchmarkLookupRecipient(b *testing.B) {
	f := newLookupFixture(b)
	for _, addr := range []string{"alice+tag@a.example", "team@a.example"} {
		b.Run(addr, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := directory.LookupRecipient(ctx, f.c, addr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
