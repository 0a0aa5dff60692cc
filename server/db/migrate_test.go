package db_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// TestMigrate_KeepsRows opens a database whose schema lacks a table and a
// column (as one written by an older release would) and checks that the
// migration adds them and keeps every row.
func TestMigrate_KeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lightr.db")
	ctx := context.Background()
	admin := viewer.AdminContext(ctx)

	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	f := seed(t, d.Client, "alpha")
	w := d.Driver.Writer()
	for _, stmt := range []string{
		"DROP TABLE suppressions",
		"DROP INDEX IF EXISTS domain_name",
		"ALTER TABLE domains DROP COLUMN tracking_host",
		"DELETE FROM lightr_schema_version",
	} {
		if _, err := w.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() { _ = d.Close() }()
	dom, err := d.Domain.Get(admin, f.domain)
	if err != nil || dom.Name != "alpha.test" {
		t.Fatalf("domain after migration: %+v, %v", dom, err)
	}
	if _, err := d.Domain.UpdateOneID(f.domain).SetTrackingHost("t.alpha.test").Save(admin); err != nil {
		t.Fatalf("re-added column: %v", err)
	}
	for _, check := range []struct {
		name string
		n    func(context.Context) (int, error)
	}{
		{"accounts", d.Account.Query().Count},
		{"messages", d.Message.Query().Count},
		{"events", d.Event.Query().Count},
		{"suppressions (re-created)", d.Suppression.Query().Count},
	} {
		n, err := check.n(admin)
		if err != nil {
			t.Fatalf("%s: %v", check.name, err)
		}
		want := 1
		if strings.Contains(check.name, "re-created") {
			want = 0
		}
		if n != want {
			t.Errorf("%s: %d rows, want %d", check.name, n, want)
		}
	}
	if v, err := d.Version(ctx); err != nil || v != db.SchemaVersion {
		t.Errorf("version %d, %v", v, err)
	}
}

// TestMigrate_RefusesNewerSchema checks that an older binary does not
// touch a database migrated by a newer one.
func TestMigrate_RefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lightr.db")
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Driver.Writer().ExecContext(ctx,
		"INSERT INTO lightr_schema_version (version, applied_at) VALUES (99, 'later')")
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	_, err = db.Open(ctx, db.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opened a newer database: %v", err)
	}
}

// TestMigrate_EventSeqFollowsCommitOrder: events get increasing seq
// numbers in insertion order whoever writes them, raw SQL included.
func TestMigrate_EventSeqFollowsCommitOrder(t *testing.T) {
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	org, err := d.Organization.Create().SetName("o").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ent with an id that sorts last, then one that sorts first: seq
	// follows the inserts, not the ids.
	late, err := d.Event.Create().SetID("evt_ZZZZ").SetOrganizationID(org.ID).SetType("x").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	early, err := d.Event.Create().SetID("evt_0000").SetOrganizationID(org.ID).SetType("x").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Driver.Writer().ExecContext(ctx,
		`INSERT INTO events (id, organization_id, type, created_at) VALUES ('evt_raw', ?, 'x', ?)`,
		string(org.ID), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, id := range []pulid.ID{late.ID, early.ID, "evt_raw"} {
		e, err := d.Event.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	if seqs[0] <= 0 || seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
		t.Errorf("seqs %v, want consecutive in insert order", seqs)
	}
}
