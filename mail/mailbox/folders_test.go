package mailbox_test

import (
	"errors"
	"testing"

	entmbox "github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX": "INBOX", "inbox": "INBOX", "InBox/Sub": "INBOX/Sub", "Inboxes": "Inboxes",
		"Work/inbox": "Work/inbox", "Été": "Été", "a/b/c": "a/b/c",
	} {
		if got, err := mailbox.NormalizeName(in); err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := make([]byte, 513)
	for i := range long {
		long[i] = 'a'
	}
	for _, in := range []string{"", "a//b", "/a", "a/", "a*", "a%b", "a\x00b", "a\tb", "\xff", string(long)} {
		if _, err := mailbox.NormalizeName(in); !errors.Is(err, mailbox.ErrBadName) {
			t.Errorf("NormalizeName(%q): err %v, want ErrBadName", in, err)
		}
	}
}

func TestCreate_ParentsAndErrors(t *testing.T) {
	f := newFixture(t)
	ctx := accountViewer(f.a1)
	mb, err := mailbox.Create(ctx, f.c, f.a1.ID, "Projects/2026/Q1", entmbox.SpecialUseFlagged)
	if err != nil {
		t.Fatal(err)
	}
	if mb.SpecialUse == nil || *mb.SpecialUse != entmbox.SpecialUseFlagged || mb.UIDNext != 1 {
		t.Errorf("created %+v", mb)
	}
	for _, n := range []string{"Projects", "Projects/2026"} {
		p, err := mailbox.Find(ctx, f.c, f.a1.ID, n)
		if err != nil || p.SpecialUse != nil {
			t.Errorf("parent %s: %+v %v", n, p, err)
		}
	}
	for name, want := range map[string]error{
		"Projects/2026": mailbox.ErrExists, "inbox": mailbox.ErrExists, "a//b": mailbox.ErrBadName,
	} {
		if _, err := mailbox.Create(ctx, f.c, f.a1.ID, name, ""); !errors.Is(err, want) {
			t.Errorf("Create(%q): err %v, want %v", name, err, want)
		}
	}
	// Another account: its own names, and none of a1's.
	if _, err := mailbox.Create(accountViewer(f.a2), f.c, f.a2.ID, "Projects", ""); err != nil {
		t.Errorf("a2 Projects: %v", err)
	}
	if _, err := mailbox.Create(accountViewer(f.a2), f.c, f.a1.ID, "Planted", ""); err == nil {
		t.Error("a2 created a mailbox for a1")
	}
	if _, err := mailbox.Find(accountViewer(f.b1), f.c, f.a1.ID, "Projects"); !errors.Is(err, mailbox.ErrNoMailbox) {
		t.Errorf("b1 found a1's mailbox: %v", err)
	}
}

func TestDeleteMailbox_ReleasesAndRefuses(t *testing.T) {
	f := newFixture(t)
	ctx := accountViewer(f.a1)
	mb := must(mailbox.Create(ctx, f.c, f.a1.ID, "Old/Sub", ""))(t)
	f.deliverN(t, f.a1, mb.ID, 3)
	kept := f.deliver(t, f.a1, f.a1.inbox, "Subject: keep\r\n\r\nkeep\r\n")
	if err := mailbox.DeleteMailbox(ctx, f.c, f.st, nil, f.a1.ID, "Old"); !errors.Is(err, mailbox.ErrHasChildren) {
		t.Errorf("with children: %v", err)
	}
	if err := mailbox.DeleteMailbox(ctx, f.c, f.st, nil, f.a1.ID, "inbox"); !errors.Is(err, mailbox.ErrInboxFixed) {
		t.Errorf("INBOX: %v", err)
	}
	if err := mailbox.DeleteMailbox(ctx, f.c, f.st, nil, f.a1.ID, "Nope"); !errors.Is(err, mailbox.ErrNoMailbox) {
		t.Errorf("missing: %v", err)
	}
	if err := mailbox.DeleteMailbox(ctx, f.c, f.st, nil, f.a1.ID, "Old/Sub"); err != nil {
		t.Fatal(err)
	}
	if u := f.usedBytes(t, f.a1); u != kept.Size {
		t.Errorf("used bytes %d, want %d left", u, kept.Size)
	}
	if n := must(f.c.Blob.Query().Count(admin()))(t); n != 1 {
		t.Errorf("%d blobs left, want 1", n)
	}
}

func TestDeleteMailbox_RecreatedGetsNewValidity(t *testing.T) {
	f := newFixture(t)
	// Trash is made with the account, in this same second most likely.
	acc := f.newAccount(t, f.orgA, "a.test", "fresh")
	ctx := accountViewer(acc)
	for _, name := range []string{"Trash", "Trash", "Fresh", "Fresh"} {
		old, err := mailbox.Find(ctx, f.c, acc.ID, name)
		if errors.Is(err, mailbox.ErrNoMailbox) {
			old = must(mailbox.Create(ctx, f.c, acc.ID, name, ""))(t)
		} else if err != nil {
			t.Fatal(err)
		}
		if err := mailbox.DeleteMailbox(ctx, f.c, f.st, nil, acc.ID, name); err != nil {
			t.Fatal(err)
		}
		mb := must(mailbox.Create(ctx, f.c, acc.ID, name, ""))(t)
		if mb.UIDValidity == old.UIDValidity {
			t.Errorf("%s re-created with UIDVALIDITY %d again", name, mb.UIDValidity)
		}
	}
}

func TestRenameMailbox(t *testing.T) {
	f := newFixture(t)
	ctx := accountViewer(f.a1)
	sub := must(mailbox.Create(ctx, f.c, f.a1.ID, "Old/Sub", ""))(t)
	if err := mailbox.RenameMailbox(ctx, f.c, nil, f.a1.ID, "Old", "New/Name"); err != nil {
		t.Fatal(err)
	}
	got := f.mailbox(t, sub.ID)
	if got.Name != "New/Name/Sub" || got.UIDValidity != sub.UIDValidity {
		t.Errorf("child after rename: %q validity %d", got.Name, got.UIDValidity)
	}
	if _, err := mailbox.Find(ctx, f.c, f.a1.ID, "New"); err != nil {
		t.Errorf("missing parent not created: %v", err)
	}
	for _, tt := range []struct {
		from, to string
		want     error
	}{
		{"New", "Sent", mailbox.ErrExists},
		{"New", "New/Name/Deeper", mailbox.ErrBadName},
		{"Nope", "X", mailbox.ErrNoMailbox},
	} {
		if err := mailbox.RenameMailbox(ctx, f.c, nil, f.a1.ID, tt.from, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("Rename %s -> %s: %v, want %v", tt.from, tt.to, err, tt.want)
		}
	}

	// INBOX: its messages go to the new mailbox, with new UIDs there.
	ms := f.deliverN(t, f.a1, f.a1.inbox, 2)
	if err := mailbox.RenameMailbox(ctx, f.c, nil, f.a1.ID, "INBOX", "Earlier"); err != nil {
		t.Fatal(err)
	}
	to := must(mailbox.Find(ctx, f.c, f.a1.ID, "Earlier"))(t)
	for i, m := range ms {
		if got := f.message(t, m.ID); got.MailboxID != to.ID || got.UID != uint32(i+1) {
			t.Errorf("message %d: mailbox %s uid %d", i, got.MailboxID, got.UID)
		}
	}
	if f.mailbox(t, f.a1.inbox).Name != "INBOX" {
		t.Error("INBOX itself was renamed")
	}
}

func TestSetSubscribed(t *testing.T) {
	f := newFixture(t)
	ctx := accountViewer(f.a1)
	if err := mailbox.SetSubscribed(ctx, f.c, f.a1.ID, "archive", false); !errors.Is(err, mailbox.ErrNoMailbox) {
		t.Errorf("names other than INBOX are case-sensitive: %v", err)
	}
	if err := mailbox.SetSubscribed(ctx, f.c, f.a1.ID, "Archive", false); err != nil {
		t.Fatal(err)
	}
	if f.mailbox(t, f.a1.archive).Subscribed {
		t.Error("still subscribed")
	}
	if err := mailbox.SetSubscribed(accountViewer(f.a2), f.c, f.a1.ID, "Archive", true); err == nil ||
		f.mailbox(t, f.a1.archive).Subscribed {
		t.Errorf("a2 subscribed a1's mailbox: %v", err)
	}
}
