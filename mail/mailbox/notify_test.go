package mailbox_test

import (
	"errors"
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/mailbox"
	"github.com/lightr-mail/lightr/mail/notify"
)

// awake reports whether s has a wake-up pending, and takes it.
func awake(s *notify.Subscription) bool {
	select {
	case <-s.C:
		return true
	default:
		return false
	}
}

// TestNotify_CallerTransaction marks a message inside a transaction opened
// as entgql.Transactioner opens one: the subscriber of its mailbox wakes
// at COMMIT, not before, and then reads the new flag; a subscriber of
// another mailbox never wakes, and a rolled-back transaction wakes no one.
func TestNotify_CallerTransaction(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	hub := notify.New()
	inbox, archive := hub.Subscribe(f.a1.inbox), hub.Subscribe(f.a1.archive)
	defer inbox.Close()
	defer archive.Close()

	// Rolled back: nothing.
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)
	txCtx, tx := must2(f.c.OpenTx(ctx))(t)
	if _, err := mailbox.Mark(txCtx, ent.FromContext(txCtx), hub, ids(m),
		mailbox.Flags{Seen: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if awake(inbox) || awake(archive) {
		t.Fatal("a rolled-back Mark woke a subscriber")
	}

	// Committed: the INBOX subscriber, after COMMIT only.
	txCtx, tx = must2(f.c.OpenTx(ctx))(t)
	if _, err := mailbox.Mark(txCtx, ent.FromContext(txCtx), hub, ids(m),
		mailbox.Flags{Seen: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if awake(inbox) {
		t.Fatal("Mark woke the subscriber before the caller committed")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if !awake(inbox) {
		t.Fatal("the commit did not wake the subscriber of the INBOX")
	}
	if !f.message(t, m.ID).Seen {
		t.Error("the woken subscriber does not read the new flag")
	}
	if awake(archive) {
		t.Error("the subscriber of another mailbox woke")
	}
}

// TestNotify_OwnTransaction checks each function that runs in its own
// transaction wakes exactly the mailboxes it changed.
func TestNotify_OwnTransaction(t *testing.T) {
	f := newFixture(t)
	m1 := f.deliver(t, f.a1, f.a1.inbox, "Subject: 1\r\n\r\n1\r\n")
	m2 := f.deliver(t, f.a1, f.a1.inbox, "Subject: 2\r\n\r\n2\r\n")
	hub := notify.New()
	inbox, archive := hub.Subscribe(f.a1.inbox), hub.Subscribe(f.a1.archive)
	other := hub.Subscribe(f.a2.inbox)
	defer inbox.Close()
	defer archive.Close()
	defer other.Close()
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)

	check := func(step string, wantInbox, wantArchive bool) {
		t.Helper()
		if got := awake(inbox); got != wantInbox {
			t.Errorf("%s: INBOX woken %v, want %v", step, got, wantInbox)
		}
		if got := awake(archive); got != wantArchive {
			t.Errorf("%s: Archive woken %v, want %v", step, got, wantArchive)
		}
		if awake(other) {
			t.Errorf("%s: another account's INBOX woke", step)
		}
	}

	if _, err := mailbox.Mark(ctx, f.c, hub, ids(m1), mailbox.Flags{Flagged: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check("mark", true, false)

	// Marking again changes nothing, so nobody needs to look.
	if _, err := mailbox.Mark(ctx, f.c, hub, ids(m1), mailbox.Flags{Flagged: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check("mark again", false, false)

	if _, err := mailbox.Move(ctx, f.c, hub, ids(m1), f.a1.archive); err != nil {
		t.Fatal(err)
	}
	check("move", true, true)

	if _, err := mailbox.Delete(ctx, f.c, f.st, hub, ids(m2)); err != nil {
		t.Fatal(err)
	}
	check("delete", true, false)

	// A failed call (a message that does not exist) wakes no one.
	if _, err := mailbox.Delete(ctx, f.c, f.st, hub, ids(m2)); !ent.IsNotFound(err) {
		t.Fatalf("delete twice: %v, want not found", err)
	}
	check("failed delete", false, false)
}

// TestNotify_TxNotInContext checks that a caller's transaction that the
// context does not carry is refused when there is a hub to tell, since
// the hub could not wait for its commit, and that nothing was written.
func TestNotify_TxNotInContext(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)
	tx := must(f.c.Tx(ctx))(t)
	defer func() { _ = tx.Rollback() }()
	_, err := mailbox.Mark(ctx, tx.Client(), notify.New(), ids(m), mailbox.Flags{Seen: ptr(true)})
	if !errors.Is(err, mailbox.ErrTxNotInContext) {
		t.Fatalf("err %v, want ErrTxNotInContext", err)
	}
	got, err := tx.Client().Message.Get(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seen {
		t.Error("the refused call wrote the flag")
	}
}

// must2 is must for a function with two results before its error.
func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
