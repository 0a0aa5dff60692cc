package db_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// openTest opens a fresh database in a temporary directory.
func openTest(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestOpen_Smoke(t *testing.T) {
	d := openTest(t)
	ctx := viewer.AdminContext(context.Background())
	org, err := d.Organization.Create().SetName("Acme").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := d.Domain.Create().SetName("acme.test").SetOrganizationID(org.ID).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(org.ID, dom.ID, dom.OrganizationID)
	v, err := d.Version(ctx)
	if err != nil || v != db.SchemaVersion {
		t.Fatalf("version %d, %v", v, err)
	}
}

// TestOpen_ReadersMapTheFile checks that the SQLite build maps the file
// for readers: mmap_size reads back as 0 when mapping is compiled out.
func TestOpen_ReadersMapTheFile(t *testing.T) {
	d := openTest(t)
	var n int64
	if err := d.Driver.Reader().QueryRowContext(context.Background(), "PRAGMA mmap_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 256<<20 {
		t.Fatalf("readers' mmap_size = %d, want %d", n, 256<<20)
	}
}
