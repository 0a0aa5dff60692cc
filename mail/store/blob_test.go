package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

func openDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestStore_SaveDedupesAndLoads(t *testing.T) {
	d := openDB(t)
	ctx := viewer.AdminContext(context.Background())
	org := must(d.Organization.Create().SetName("a").Save(ctx))
	s := store.New()
	raw := []byte("Subject: hi\r\n\r\nbody\r\n")

	b1 := must(s.Save(ctx, d.Client, org.ID, raw))
	b2 := must(s.Save(ctx, d.Client, org.ID, raw))
	if b1.ID != b2.ID {
		t.Fatalf("same bytes stored twice: %s, %s", b1.ID, b2.ID)
	}
	got := must(s.Load(ctx, d.Client, b1))
	if !bytes.Equal(got, raw) || b1.Size != int64(len(raw)) {
		t.Fatalf("loaded %q (size %d)", got, b1.Size)
	}

	// Another organization gets its own copy.
	other := must(d.Organization.Create().SetName("b").Save(ctx))
	if b3 := must(s.Save(ctx, d.Client, other.ID, raw)); b3.ID == b1.ID {
		t.Fatal("two organizations share a blob")
	}
}

func TestStore_CollectGarbage(t *testing.T) {
	d := openDB(t)
	ctx := viewer.AdminContext(context.Background())
	s := store.New()
	org := must(d.Organization.Create().SetName("a").Save(ctx))
	dom := must(d.Domain.Create().SetName("a.test").SetOrganizationID(org.ID).Save(ctx))
	acc := must(d.Account.Create().SetDomainID(dom.ID).SetLocalPart("u").SetEmail("u@a.test").Save(ctx))
	box := must(d.Mailbox.Create().SetAccountID(acc.ID).SetName("INBOX").SetUIDValidity(1).Save(ctx))

	kept := must(s.Save(ctx, d.Client, org.ID, []byte("kept")))
	gone := must(s.Save(ctx, d.Client, org.ID, []byte("gone")))
	must(d.Message.Create().SetAccountID(acc.ID).SetMailboxID(box.ID).SetBlobID(kept.ID).
		SetUID(1).SetInternalDate(time.Now()).SetSize(4).Save(ctx))

	if n := must(s.CollectGarbage(ctx, d.Client, org.ID)); n != 1 {
		t.Fatalf("collected %d blobs, want 1", n)
	}
	if _, err := d.Blob.Get(ctx, gone.ID); !ent.IsNotFound(err) {
		t.Fatalf("unreferenced blob still there: %v", err)
	}
	if _, err := s.Load(ctx, d.Client, gone); err == nil {
		t.Fatal("unreferenced bytes still there")
	}
	if _, err := s.Load(ctx, d.Client, kept); err != nil {
		t.Fatalf("referenced blob lost: %v", err)
	}

	// Deleting the account cascades to its messages; the blob goes next.
	if err := d.Account.DeleteOneID(acc.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n := must(s.CollectGarbage(ctx, d.Client, org.ID)); n != 1 {
		t.Fatalf("collected %d blobs after the account went, want 1", n)
	}
}

// BenchmarkStore_Save measures storing distinct messages in the database
// blob store, one committed transaction each, beside writing and fsyncing
// the same bytes as files (what a filesystem store would do at least).
func BenchmarkStore_Save(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		b.Run(fmt.Sprintf("db/%dKiB", size>>10), func(b *testing.B) {
			d := openDB(b)
			ctx := viewer.AdminContext(context.Background())
			org := must(d.Organization.Create().SetName("a").Save(ctx))
			s := store.New()
			raw := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				copy(raw, fmt.Sprintf("%016d", i))
				tx := must(d.Tx(ctx))
				must(s.Save(ctx, tx.Client(), org.ID, raw))
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("file+fsync/%dKiB", size>>10), func(b *testing.B) {
			dir := b.TempDir()
			raw := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				f := must(os.Create(filepath.Join(dir, fmt.Sprint(i))))
				must(f.Write(raw))
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				_ = f.Close()
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
