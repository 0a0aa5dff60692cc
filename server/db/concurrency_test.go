package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// TestDB_ConcurrentWritersNeverBusy hammers one database from many
// goroutines and from a second handle on the same file (as the CLI beside
// a running server), with plain writes, read-then-write transactions and
// reads, and expects no error at all: SQLITE_BUSY must never reach a
// caller.
func TestDB_ConcurrentWritersNeverBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lightr.db")
	ctx := viewer.AdminContext(context.Background())
	first, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Close() }()
	second, err := db.Open(ctx, db.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Close() }()
	org := must(first.Organization.Create().SetName("o").Save(ctx))

	const workers, rounds = 8, 40
	errs := make(chan error, workers*rounds*3)
	var wg sync.WaitGroup
	for w := range workers {
		d := first
		if w%2 == 1 {
			d = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				name := fmt.Sprintf("t-%d-%d", w, i)
				// A plain write.
				if err := d.Template.Create().SetOrganizationID(org.ID).SetName(name).Exec(ctx); err != nil {
					errs <- fmt.Errorf("create: %w", err)
				}
				// A transaction that reads, then writes.
				tx, err := d.Tx(ctx)
				if err != nil {
					errs <- fmt.Errorf("begin: %w", err)
					continue
				}
				n, err := tx.Template.Query().Count(ctx)
				if err == nil {
					err = tx.Organization.UpdateOneID(org.ID).SetMaxAccounts(n).Exec(ctx)
				}
				if err != nil {
					_ = tx.Rollback()
					errs <- fmt.Errorf("read-then-write: %w", err)
					continue
				}
				if err := tx.Commit(); err != nil {
					errs <- fmt.Errorf("commit: %w", err)
				}
				// A read beside the writers.
				if _, err := d.Template.Query().Count(ctx); err != nil {
					errs <- fmt.Errorf("read: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := must(first.Template.Query().Count(ctx)); n != workers*rounds {
		t.Fatalf("%d templates, want %d", n, workers*rounds)
	}
}
