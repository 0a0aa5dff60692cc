package mailbox_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestMove_AssignsNewUIDsAndModseqs(t *testing.T) {
	f := newFixture(t)
	in := f.deliverN(t, f.a1, f.a1.inbox, 3)
	old := f.deliverN(t, f.a1, f.a1.archive, 2) // the archive's UIDs 1 and 2 are taken
	src, dst := f.mailbox(t, f.a1.inbox), f.mailbox(t, f.a1.archive)
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)

	// Asked for out of order; UIDs follow the old UIDs (RFC 6851 §3.3).
	got, err := mailbox.Move(ctx, f.c, nil, ids(in[2], in[0]), f.a1.archive)
	if err != nil {
		t.Fatal(err)
	}
	src2, dst2 := f.mailbox(t, f.a1.inbox), f.mailbox(t, f.a1.archive)
	if src2.HighestModseq != src.HighestModseq+1 || dst2.HighestModseq != dst.HighestModseq+1 {
		t.Errorf("highest modseq: source %d -> %d, target %d -> %d; want one step each",
			src.HighestModseq, src2.HighestModseq, dst.HighestModseq, dst2.HighestModseq)
	}
	if dst.UIDNext != 3 || dst2.UIDNext != 5 || src2.UIDNext != src.UIDNext {
		t.Errorf("uid_next: target %d -> %d (want 3 -> 5), source %d -> %d",
			dst.UIDNext, dst2.UIDNext, src.UIDNext, src2.UIDNext)
	}
	type row struct {
		ID      string
		Mailbox string
		UID     uint32
		Modseq  int64
	}
	rows := func(ms ...*ent.Message) []row {
		var out []row
		for _, m := range ms {
			out = append(out, row{string(m.ID), string(m.MailboxID), m.UID, m.Modseq})
		}
		return out
	}
	want := []row{
		{string(in[2].ID), string(f.a1.archive), 4, dst2.HighestModseq},
		{string(in[0].ID), string(f.a1.archive), 3, dst2.HighestModseq},
	}
	if diff := cmp.Diff(want, rows(got...)); diff != "" {
		t.Errorf("moved messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rows(in[1], old[0], old[1]),
		rows(f.message(t, in[1].ID), f.message(t, old[0].ID), f.message(t, old[1].ID))); diff != "" {
		t.Errorf("messages not moved changed (-before +after):\n%s", diff)
	}

	// Moving back never reuses a UID: the inbox's next is past 3.
	got, err = mailbox.Move(ctx, f.c, nil, ids(in[0]), f.a1.inbox)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].UID != src.UIDNext {
		t.Errorf("moved back with UID %d, want %d (the inbox's uid_next)", got[0].UID, src.UIDNext)
	}
}

func TestMove_IntoSameMailboxIsANoOp(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	before := f.mailbox(t, f.a1.inbox)
	got, err := mailbox.Move(orgViewer(f.orgA, viewer.ScopeWrite), f.c, nil, ids(m), f.a1.inbox)
	if err != nil {
		t.Fatal(err)
	}
	after := f.mailbox(t, f.a1.inbox)
	if got[0].UID != m.UID || after.UIDNext != before.UIDNext ||
		after.HighestModseq != before.HighestModseq {
		t.Errorf("UID %d -> %d, uid_next %d -> %d, modseq %d -> %d; want no change",
			m.UID, got[0].UID, before.UIDNext, after.UIDNext, before.HighestModseq, after.HighestModseq)
	}
}

func TestMove_TargetOfAnotherAccount(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")

	// The organization sees both accounts: the request is wrong.
	_, err := mailbox.Move(orgViewer(f.orgA, viewer.ScopeWrite), f.c, nil, ids(m), f.a2.inbox)
	var inputErr *directory.InputError
	if !errors.As(err, &inputErr) {
		t.Errorf("org viewer: err %v, want an input error", err)
	}
	// a1's user does not see a2's mailbox at all.
	_, err = mailbox.Move(accountViewer(f.a1), f.c, nil, ids(m), f.a2.inbox)
	if !ent.IsNotFound(err) {
		t.Errorf("account viewer: err %v, want not found", err)
	}
	if got := f.message(t, m.ID); got.MailboxID != f.a1.inbox || got.UID != m.UID {
		t.Errorf("message moved to %s UID %d", got.MailboxID, got.UID)
	}
	if n := f.mailbox(t, f.a2.inbox).UIDNext; n != 1 {
		t.Errorf("a2's inbox uid_next = %d, want 1", n)
	}
}

// TestMove_CallerTransaction checks that Move joins a transaction it is
// given and leaves committing or rolling back to its owner.
func TestMove_CallerTransaction(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)
	tx := must(f.c.Tx(ctx))(t)
	if _, err := mailbox.Move(ctx, tx.Client(), nil, ids(m), f.a1.archive); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := f.message(t, m.ID); got.MailboxID != f.a1.inbox {
		t.Error("the move outlived the caller's rollback")
	}
	if n := f.mailbox(t, f.a1.archive).UIDNext; n != 1 {
		t.Errorf("archive uid_next = %d after rollback, want 1", n)
	}
}
