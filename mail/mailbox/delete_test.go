package mailbox_test

import (
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/blob"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestDelete_QuotaModseqAndBlobs(t *testing.T) {
	f := newFixture(t)
	const raw = "Subject: shared\r\n\r\nthe same bytes\r\n"
	m1 := f.deliver(t, f.a1, f.a1.inbox, raw)
	m2 := f.deliver(t, f.a1, f.a1.archive, raw) // a copy: same blob
	m3 := f.deliver(t, f.a1, f.a1.inbox, "Subject: own\r\n\r\nother bytes\r\n")
	if m1.BlobID != m2.BlobID {
		t.Fatal("identical messages got two blobs")
	}
	ownBlob := must(f.c.Blob.Get(admin(), m3.BlobID))(t)
	used := f.usedBytes(t, f.a1)
	inbox := f.mailbox(t, f.a1.inbox)
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)

	n, err := mailbox.Delete(ctx, f.c, f.st, nil, ids(m1, m3))
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v; want 2", n, err)
	}
	if got, want := f.usedBytes(t, f.a1), used-m1.Size-m3.Size; got != want {
		t.Errorf("used bytes %d, want %d", got, want)
	}
	if got := f.mailbox(t, f.a1.inbox); got.HighestModseq != inbox.HighestModseq+1 ||
		got.UIDNext != inbox.UIDNext {
		t.Errorf("inbox modseq %d -> %d (want one step), uid_next %d -> %d (want none)",
			inbox.HighestModseq, got.HighestModseq, inbox.UIDNext, got.UIDNext)
	}
	for _, m := range []*ent.Message{m1, m3} {
		if _, err := f.c.Message.Get(admin(), m.ID); !ent.IsNotFound(err) {
			t.Errorf("%s still there: %v", m.ID, err)
		}
	}
	// m2 still needs the shared blob; m3's went, bytes included.
	sharedBlob := must(f.c.Blob.Get(admin(), m1.BlobID))(t)
	if _, err := f.st.Load(admin(), f.c, sharedBlob); err != nil {
		t.Errorf("shared blob lost: %v", err)
	}
	if ok := must(f.c.Blob.Query().Where(blob.ID(m3.BlobID)).Exist(admin()))(t); ok {
		t.Error("m3's blob is still there")
	}
	if _, err := f.st.Load(admin(), f.c, ownBlob); err == nil {
		t.Error("m3's bytes are still there")
	}

	// The last copy takes the blob with it.
	if _, err := mailbox.Delete(ctx, f.c, f.st, nil, ids(m2)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Load(admin(), f.c, sharedBlob); err == nil {
		t.Error("the bytes of the last copy are still there")
	}
	if got := f.usedBytes(t, f.a1); got != 0 {
		t.Errorf("used bytes %d after deleting everything, want 0", got)
	}
}

func TestDelete_NeverBelowZeroUsedBytes(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	if err := f.c.Account.UpdateOneID(f.a1.ID).SetUsedBytes(1).Exec(admin()); err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Delete(orgViewer(f.orgA, viewer.ScopeWrite), f.c, f.st, nil, ids(m)); err != nil {
		t.Fatal(err)
	}
	if got := f.usedBytes(t, f.a1); got != 0 {
		t.Errorf("used bytes %d, want 0", got)
	}
}

// TestDelete_AccountViewerKeepsOthersBlob checks that an account's user,
// who cannot see another account's copy of a message, does not take the
// shared bytes with its own copy.
func TestDelete_AccountViewerKeepsOthersBlob(t *testing.T) {
	f := newFixture(t)
	const raw = "Subject: to both\r\n\r\nhi\r\n"
	mine := f.deliver(t, f.a1, f.a1.inbox, raw)
	theirs := f.deliver(t, f.a2, f.a2.inbox, raw)
	if _, err := mailbox.Delete(accountViewer(f.a1), f.c, f.st, nil, ids(mine)); err != nil {
		t.Fatal(err)
	}
	b := must(f.c.Blob.Get(admin(), theirs.BlobID))(t)
	if _, err := f.st.Load(admin(), f.c, b); err != nil {
		t.Errorf("a2's message lost its bytes: %v", err)
	}
	if got := f.usedBytes(t, f.a2); got != int64(len(raw)) {
		t.Errorf("a2's used bytes %d, want %d", got, len(raw))
	}
}
