package imap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	imapsrv "github.com/lightr-mail/lightr/server/imap"
)

func TestAppend_FlagsDateAndUID(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	c := e.login(e.alice, nil)
	date := time.Date(2024, 2, 29, 23, 59, 58, 0, time.FixedZone("", -5*3600))
	raw := testMessage("appended", "kept as sent")
	cmd := c.Append("INBOX", int64(len(raw)), &imap.AppendOptions{
		Flags: []imap.Flag{imap.FlagSeen, imap.FlagDraft, "$Pending"}, Time: date})
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	inbox := e.mailbox(e.alice, "INBOX")
	if data.UID != 3 || data.UIDValidity != inbox.UIDValidity {
		t.Errorf("APPENDUID %d %d, want %d 3", data.UIDValidity, data.UID, inbox.UIDValidity)
	}
	m := e.message(e.alice, "INBOX", 3)
	if !m.Seen || !m.Draft || m.Flagged || len(m.Keywords) != 1 || m.Keywords[0] != "$Pending" ||
		!m.InternalDate.Equal(date) || m.Size != int64(len(raw)) || m.Subject != "appended" {
		t.Errorf("stored: seen %v draft %v keywords %v date %v size %d subject %q",
			m.Seen, m.Draft, m.Keywords, m.InternalDate, m.Size, m.Subject)
	}

	// What FETCH shows of it.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(3), &imap.FetchOptions{Flags: true, InternalDate: true,
		RFC822Size: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	f := msgs[0]
	if !f.InternalDate.Equal(date) || f.RFC822Size != int64(len(raw)) || f.Envelope.Subject != "appended" ||
		!hasFlag(f.Flags, imap.FlagSeen) || !hasFlag(f.Flags, "$Pending") ||
		string(f.FindBodySection(&imap.FetchItemBodySection{})) != raw {
		t.Errorf("FETCH of the appended message: %+v", f)
	}
	used, _ := e.db.Client.Account.Get(adminCtx(), e.alice.ID)
	var total int64
	for _, u := range e.uidsOf(e.alice, "INBOX") {
		total += e.message(e.alice, "INBOX", u).Size
	}
	if used.UsedBytes != total {
		t.Errorf("used bytes %d, want %d", used.UsedBytes, total)
	}
}

func TestAppend_Refusals(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxMessageBytes = 1000 })
	rc := e.raw(e.alice)
	msg := testMessage("x", "y")

	if _, st := rc.cmd("APPEND Nope {%d+}\r\n%s", len(msg), msg); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("APPEND to a missing mailbox: %q", st)
	}
	big := testMessage("big", strings.Repeat("x", 2000))
	if _, st := rc.cmd("APPEND INBOX {%d}", len(big)); !strings.HasPrefix(st, "NO [TOOBIG]") {
		t.Errorf("APPEND over APPENDLIMIT: %q", st)
	}
	rc.ok("NOOP")

	// An account quota: the message would not fit.
	err := e.db.Client.Account.UpdateOneID(e.alice.ID).
		SetQuotaBytes(int64(len(msg)) - 1).
		Exec(adminCtx())
	if err != nil {
		t.Fatal(err)
	}
	if _, st := rc.cmd("APPEND INBOX {%d+}\r\n%s", len(msg), msg); !strings.HasPrefix(st, "NO [OVERQUOTA]") {
		t.Errorf("APPEND over quota: %q", st)
	}
	if got := e.uidsOf(e.alice, "INBOX"); len(got) != 0 {
		t.Errorf("refused appends stored %v", got)
	}
	if _, st := rc.cmd(`APPEND INBOX (\Bogus) {%d+}`+"\r\n%s", len(msg), msg); !strings.HasPrefix(st, "NO") {
		t.Errorf("APPEND with an unknown system flag: %q", st)
	}
}
