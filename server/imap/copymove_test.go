package imap_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestCopyMove_Copy(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 4)
	c := e.selectInbox(e.alice, nil)
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagFlagged, "$Keep"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	// Archive's UIDs 1 and 2 are taken, and then freed again.
	if _, err := c.Copy(imap.SeqSetNum(1, 3), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	data, err := c.Copy(imap.SeqSetNum(2, 4), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	archive := e.mailbox(e.alice, "Archive")
	if data.UIDValidity != archive.UIDValidity || data.SourceUIDs.String() != "2,4" ||
		data.DestUIDs.String() != "3:4" {
		t.Errorf("COPYUID %d %s %s, want %d 2,4 3:4", data.UIDValidity, data.SourceUIDs, data.DestUIDs,
			archive.UIDValidity)
	}
	cp := e.message(e.alice, "Archive", 3)
	orig := e.message(e.alice, "INBOX", 2)
	if !cp.Flagged || len(cp.Keywords) != 1 || cp.BlobID != orig.BlobID || !cp.InternalDate.Equal(orig.InternalDate) {
		t.Errorf("copy: flagged %v keywords %v blob %s (orig %s)", cp.Flagged, cp.Keywords, cp.BlobID, orig.BlobID)
	}
	if got := e.uidsOf(e.alice, "INBOX"); len(got) != 4 {
		t.Errorf("COPY changed the source: %v", got)
	}

	// UID COPY, and a missing destination.
	data, err = c.Copy(imap.UIDSetNum(1), "Archive").Wait()
	if err != nil || data.DestUIDs.String() != "5" {
		t.Errorf("UID COPY: %+v %v", data, err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nope").Wait(); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("COPY to a missing mailbox: %v, want TRYCREATE", err)
	}
}

func TestCopyMove_CopyOverQuota(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	used := e.mailbox(e.alice, "INBOX") // for its account
	a, err := e.db.Client.Account.Get(adminCtx(), used.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Client.Account.UpdateOneID(a.ID).SetQuotaBytes(a.UsedBytes + 10).Exec(adminCtx()); err != nil {
		t.Fatal(err)
	}
	c := e.selectInbox(e.alice, nil)
	if _, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait(); imapCode(err) != imap.ResponseCodeOverQuota {
		t.Errorf("COPY over quota: %v, want OVERQUOTA", err)
	}
	if got := e.uidsOf(e.alice, "Archive"); len(got) != 0 {
		t.Errorf("a refused COPY left %v", got)
	}
}

func TestCopyMove_Move(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 5)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	archive := e.mailbox(e.alice, "Archive")

	// COPYUID comes first, then the EXPUNGEs, highest first (RFC 6851).
	u := rc.ok("MOVE 2,4 Archive")
	want := []string{"* OK [COPYUID " + u32(archive.UIDValidity) + " 2,4 1:2] Moved",
		"* 4 EXPUNGE", "* 2 EXPUNGE"}
	if len(u) != 3 || !strings.HasPrefix(u[0], "* OK [COPYUID "+u32(archive.UIDValidity)+" 2,4 1:2]") ||
		u[1] != want[1] || u[2] != want[2] {
		t.Errorf("MOVE 2,4: %q, want %q", u, want)
	}
	if got := e.uidsOf(e.alice, "INBOX"); !equalUIDs(got, 1, 3, 5) {
		t.Errorf("INBOX after MOVE: %v", got)
	}

	// UID MOVE; destination UIDs keep increasing.
	u = rc.ok("UID MOVE 5 Archive")
	if len(u) != 2 || !strings.Contains(u[0], "COPYUID "+u32(archive.UIDValidity)+" 5 3]") || u[1] != "* 3 EXPUNGE" {
		t.Errorf("UID MOVE 5: %q", u)
	}
	if got := e.uidsOf(e.alice, "Archive"); !equalUIDs(got, 1, 2, 3) {
		t.Errorf("Archive after MOVE: %v", got)
	}
	if _, st := rc.cmd("MOVE 1 Nope"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("MOVE to a missing mailbox: %q", st)
	}
	if _, st := rc.cmd("MOVE 1 INBOX"); !strings.HasPrefix(st, "NO") {
		t.Errorf("MOVE into the selected mailbox: %q", st)
	}
	if u := rc.ok("FETCH 1:* (UID)"); len(u) != 2 {
		t.Errorf("left after MOVE: %q", u)
	}
}

func u32(v uint32) string {
	var b []byte
	for v >= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(append([]byte{byte('0' + v)}, b...))
}
