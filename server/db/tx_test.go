package db_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// TestInTx commits what fn wrote, and keeps nothing of an fn that fails.
func TestInTx(t *testing.T) {
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	boom := errors.New("boom")
	err = db.InTx(ctx, d.Client, "test", func(c *ent.Client) error {
		if _, err := c.Organization.Create().SetName("rolled back").Save(ctx); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	err = db.InTx(ctx, d.Client, "test", func(c *ent.Client) error {
		return c.Organization.Create().SetName("kept").Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.Organization.Query().Select("name").Strings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "kept" {
		t.Errorf("organizations %v, want only the committed one", names)
	}
}
