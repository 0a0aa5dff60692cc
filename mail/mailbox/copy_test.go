package mailbox_test

import (
	"errors"
	"testing"

	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestCopy_UIDsFlagsAndBlobs(t *testing.T) {
	f := newFixture(t)
	in := f.deliverN(t, f.a1, f.a1.inbox, 3)
	f.deliverN(t, f.a1, f.a1.archive, 1) // Archive's UID 1 is taken
	ctx := accountViewer(f.a1)
	if _, err := mailbox.SetFlags(ctx, f.c, nil, ids(in[2]), mailbox.FlagsAdd,
		mailbox.FlagSet{Flagged: true, Keywords: []string{"$K"}}); err != nil {
		t.Fatal(err)
	}
	before := f.mailbox(t, f.a1.archive)
	used := f.usedBytes(t, f.a1)

	got, err := mailbox.Copy(ctx, f.c, nil, ids(in[2], in[0]), f.a1.archive)
	if err != nil {
		t.Fatal(err)
	}
	after := f.mailbox(t, f.a1.archive)
	if len(got) != 2 || got[0].Source.ID != in[0].ID || got[0].Copy.UID != 2 ||
		got[1].Source.ID != in[2].ID || got[1].Copy.UID != 3 {
		t.Fatalf("copies %+v, want UIDs 2 and 3 in source UID order", got)
	}
	if after.UIDNext != before.UIDNext+2 || after.HighestModseq != before.HighestModseq+1 {
		t.Errorf("archive UIDNEXT %d -> %d, modseq %d -> %d", before.UIDNext, after.UIDNext,
			before.HighestModseq, after.HighestModseq)
	}
	cp := f.message(t, got[1].Copy.ID)
	if !cp.Flagged || len(cp.Keywords) != 1 || cp.BlobID != in[2].BlobID || cp.MailboxID != f.a1.archive ||
		cp.Modseq != after.HighestModseq {
		t.Errorf("copy %+v", cp)
	}
	if f.message(t, in[2].ID).MailboxID != f.a1.inbox {
		t.Error("the source moved")
	}
	if n := must(f.c.Blob.Query().Count(admin()))(t); n != 4 {
		t.Errorf("%d blobs, want 4: copies share their source's", n)
	}
	if u := f.usedBytes(t, f.a1); u != used+in[0].Size+in[2].Size {
		t.Errorf("used bytes %d -> %d, want the copies charged", used, u)
	}
}

func TestCopy_OverQuota(t *testing.T) {
	f := newFixture(t)
	in := f.deliverN(t, f.a1, f.a1.inbox, 2)
	used := f.usedBytes(t, f.a1)
	if err := f.c.Account.UpdateOneID(f.a1.ID).SetQuotaBytes(used + in[0].Size).Exec(admin()); err != nil {
		t.Fatal(err)
	}
	ctx := accountViewer(f.a1)
	if _, err := mailbox.Copy(ctx, f.c, nil, ids(in...), f.a1.archive); !errors.Is(err, mailbox.ErrOverQuota) {
		t.Errorf("two copies past the quota: err %v, want ErrOverQuota", err)
	}
	if u := f.usedBytes(t, f.a1); u != used {
		t.Errorf("a refused copy charged: %d -> %d", used, u)
	}
	if n := must(f.c.Message.Query().Count(admin()))(t); n != 2 {
		t.Errorf("%d messages after a refused copy", n)
	}
	if _, err := mailbox.Copy(ctx, f.c, nil, ids(in[0]), f.a1.archive); err != nil {
		t.Errorf("one copy within the quota: %v", err)
	}
}

func TestCopy_OtherAccountRefused(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	if _, err := mailbox.Copy(orgViewer(f.orgA, "write"), f.c, nil, ids(m), f.a2.archive); err == nil {
		t.Error("copied into another account's mailbox")
	}
	if _, err := mailbox.Copy(accountViewer(f.a1), f.c, nil, ids(m), f.b1.inbox); err == nil {
		t.Error("copied into another organization's mailbox")
	}
	if n := must(f.c.Message.Query().Count(admin()))(t); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestAppend_ChargesQuota(t *testing.T) {
	f := newFixture(t)
	raw := []byte("Subject: a\r\n\r\nappended\r\n")
	ctx := accountViewer(f.a1)
	if err := f.c.Account.UpdateOneID(f.a1.ID).SetQuotaBytes(int64(len(raw)) + 5).Exec(admin()); err != nil {
		t.Fatal(err)
	}
	m, err := mailbox.Append(ctx, f.c, f.st, nil, mailbox.AppendInput{Mailbox: f.a1.inbox, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	if m.UID != 1 || m.Size != int64(len(raw)) || f.usedBytes(t, f.a1) != int64(len(raw)) {
		t.Errorf("appended UID %d size %d, used %d", m.UID, m.Size, f.usedBytes(t, f.a1))
	}
	_, err = mailbox.Append(ctx, f.c, f.st, nil, mailbox.AppendInput{Mailbox: f.a1.inbox, Raw: raw})
	if !errors.Is(err, mailbox.ErrOverQuota) {
		t.Errorf("second append: err %v, want ErrOverQuota", err)
	}
	if f.usedBytes(t, f.a1) != int64(len(raw)) || f.mailbox(t, f.a1.inbox).UIDNext != 2 {
		t.Error("a refused append changed the account or the mailbox")
	}
	if _, err := mailbox.Append(ctx, f.c, f.st, nil, mailbox.AppendInput{Mailbox: f.b1.inbox, Raw: raw}); err == nil {
		t.Error("appended to another organization's mailbox")
	}
}
