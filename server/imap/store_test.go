package imap_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestStore_Operations(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 3)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	tests := []struct {
		cmd  string
		want []string // untagged answers
		seq1 string   // FLAGS of message 1 afterwards, as stored
	}{
		{`STORE 1 +FLAGS (\Seen $Label1)`, []string{`* 1 FETCH (UID 1 FLAGS (\Seen $Label1))`}, `\Seen $Label1`},
		{`STORE 1 +FLAGS ($label1 \Flagged)`, []string{`* 1 FETCH (UID 1 FLAGS (\Seen \Flagged $Label1))`},
			`\Seen \Flagged $Label1`},
		{`STORE 1 -FLAGS ($LABEL1)`, []string{`* 1 FETCH (UID 1 FLAGS (\Seen \Flagged))`}, `\Seen \Flagged`},
		{`STORE 1 FLAGS (\Draft Work)`, []string{`* 1 FETCH (UID 1 FLAGS (\Draft Work))`}, `\Draft Work`},
		{`STORE 1 FLAGS.SILENT (\Answered)`, nil, `\Answered`},
		{`STORE 1 -FLAGS.SILENT (\Answered)`, nil, ``},
		{`UID STORE 1 +FLAGS (\Deleted)`, []string{`* 1 FETCH (UID 1 FLAGS (\Deleted))`}, `\Deleted`},
		{`STORE 1:* +FLAGS.SILENT (\Seen)`, nil, `\Seen \Deleted`},
	}
	for _, tt := range tests {
		u := rc.ok("%s", tt.cmd)
		if strings.Join(u, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: %q, want %q", tt.cmd, u, tt.want)
		}
		m := e.message(e.alice, "INBOX", 1)
		got := flagsOfRow(m.Seen, m.Answered, m.Flagged, m.Deleted, m.Draft)
		got = append(got, m.Keywords...)
		if strings.Join(got, " ") != tt.seq1 {
			t.Errorf("%s: stored %q, want %q", tt.cmd, got, tt.seq1)
		}
	}
	if u := rc.ok("FETCH 2:3 (FLAGS)"); len(u) != 2 || !strings.Contains(u[1], `FLAGS (\Seen)`) {
		t.Errorf("after STORE 1:*: %q", u)
	}

	// Keywords that are not atoms, and system flags a client may not set.
	for _, cmd := range []string{`STORE 1 +FLAGS (\Recent)`, `STORE 1 +FLAGS (\Unknown)`} {
		if _, st := rc.cmd("%s", cmd); !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "NO") &&
			!strings.HasPrefix(st, "BAD") {
			t.Errorf("%s: %q", cmd, st)
		}
	}
	rc.ok("NOOP")
	long := strings.Repeat("k", 200)
	if _, st := rc.cmd("STORE 1 +FLAGS (%s)", long); strings.HasPrefix(st, "OK") {
		t.Errorf("a %d-byte keyword was accepted", len(long))
	}
}

func flagsOfRow(seen, answered, flagged, deleted, draft bool) []string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{seen, `\Seen`}, {answered, `\Answered`}, {flagged, `\Flagged`}, {deleted, `\Deleted`}, {draft, `\Draft`}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

func TestStore_Expunge(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 6)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 2,4,5 +FLAGS.SILENT (\Deleted)`)

	// UID EXPUNGE takes only the named deleted messages.
	if u := rc.ok("UID EXPUNGE 1:4"); strings.Join(u, ",") != "* 4 EXPUNGE,* 2 EXPUNGE" {
		t.Errorf("UID EXPUNGE 1:4: %q", u)
	}
	// Left: UIDs 1 3 5 6, with 5 deleted (now sequence 3).
	if u := rc.ok("EXPUNGE"); strings.Join(u, ",") != "* 3 EXPUNGE" {
		t.Errorf("EXPUNGE: %q", u)
	}
	if got := e.uidsOf(e.alice, "INBOX"); !equalUIDs(got, 1, 3, 6) {
		t.Errorf("stored UIDs %v, want 1 3 6", got)
	}
	if u := rc.ok("FETCH 1:* (UID)"); len(u) != 3 || !strings.Contains(u[2], "UID 6") {
		t.Errorf("after EXPUNGE: %q", u)
	}

	// CLOSE expunges silently.
	rc.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	if u := rc.ok("CLOSE"); len(u) != 0 {
		t.Errorf("CLOSE answered %q", u)
	}
	if got := e.uidsOf(e.alice, "INBOX"); !equalUIDs(got, 3, 6) {
		t.Errorf("after CLOSE: %v", got)
	}
	// UNSELECT does not.
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	rc.ok("UNSELECT")
	if got := e.uidsOf(e.alice, "INBOX"); !equalUIDs(got, 3, 6) {
		t.Errorf("after UNSELECT: %v", got)
	}
}

func equalUIDs(got []imap.UID, want ...imap.UID) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestStore_SharedWithAPI checks one set of data: a flag set over IMAP is
// what the data layer holds, and a flag set through mail/mailbox, as
// GraphQL sets it, is what IMAP shows.
func TestStore_SharedWithAPI(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	c := e.selectInbox(e.alice, nil)
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if !e.message(e.alice, "INBOX", 1).Flagged {
		t.Error("\\Flagged set over IMAP is not stored")
	}
	apiMark(t, e, 2)
	msgs, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 || !hasFlag(msgs[0].Flags, imap.FlagSeen) {
		t.Errorf("a flag set through the API: %+v %v", msgs, err)
	}
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}
