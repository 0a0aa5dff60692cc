package imap_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/google/go-cmp/cmp"

	imapsrv "github.com/lightr-mail/lightr/server/imap"
)

// names returns the mailbox names of a LIST answer, in its order.
func names(ls []*imap.ListData) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Mailbox)
	}
	return out
}

func hasAttr(l *imap.ListData, a imap.MailboxAttr) bool {
	return slices.ContainsFunc(l.Attrs, func(x imap.MailboxAttr) bool {
		return strings.EqualFold(string(x), string(a))
	})
}

func byName(ls []*imap.ListData, name string) *imap.ListData {
	for _, l := range ls {
		if l.Mailbox == name {
			return l
		}
	}
	return nil
}

// withFolders logs alice in after creating Projects/2026/Q1 (and so its
// parents), Projects/Old and Work.
func withFolders(t *testing.T) (*env, *imapclient.Client) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	for _, n := range []string{"Projects/2026/Q1", "Projects/Old", "Work"} {
		if err := c.Create(n, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", n, err)
		}
	}
	return e, c
}

func TestMailboxes_ListPatterns(t *testing.T) {
	_, c := withFolders(t)
	all := []string{"Archive", "Drafts", "INBOX", "Junk", "Projects", "Projects/2026",
		"Projects/2026/Q1", "Projects/Old", "Sent", "Trash", "Work"}
	tests := []struct {
		ref, pattern string
		want         []string
	}{
		{"", "*", all},
		{"", "%", []string{"Archive", "Drafts", "INBOX", "Junk", "Projects", "Sent", "Trash", "Work"}},
		{"", "Projects/%", []string{"Projects/2026", "Projects/Old"}},
		{"", "Projects/*", []string{"Projects/2026", "Projects/2026/Q1", "Projects/Old"}},
		{"", "P*", []string{"Projects", "Projects/2026", "Projects/2026/Q1", "Projects/Old"}},
		{"", "*Q1", []string{"Projects/2026/Q1"}},
		{"", "inbox", []string{"INBOX"}},
		{"", "InBoX", []string{"INBOX"}},
		{"Projects/", "%", []string{"Projects/2026", "Projects/Old"}},
		{"Projects/", "2026/*", []string{"Projects/2026/Q1"}},
		{"", "work", []string{}}, // only INBOX is case-insensitive
		{"", "Nope*", []string{}},
	}
	for _, tt := range tests {
		ls, err := c.List(tt.ref, tt.pattern, nil).Collect()
		if err != nil {
			t.Fatalf("LIST %q %q: %v", tt.ref, tt.pattern, err)
		}
		if diff := cmp.Diff(tt.want, names(ls)); diff != "" {
			t.Errorf("LIST %q %q (-want +got):\n%s", tt.ref, tt.pattern, diff)
		}
	}

	// The empty pattern asks for the delimiter.
	ls, err := c.List("", "", nil).Collect()
	if err != nil || len(ls) != 1 || ls[0].Delim != '/' || ls[0].Mailbox != "" ||
		!hasAttr(ls[0], imap.MailboxAttrNoSelect) {
		t.Errorf(`LIST "" "": %+v %v`, ls, err)
	}

	// Attributes: special use, children.
	ls, _ = c.List("", "*", nil).Collect()
	for name, attr := range map[string]imap.MailboxAttr{
		"Sent": imap.MailboxAttrSent, "Drafts": imap.MailboxAttrDrafts, "Trash": imap.MailboxAttrTrash,
		"Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive,
		"Projects": imap.MailboxAttrHasChildren, "Projects/2026": imap.MailboxAttrHasChildren,
		"Work": imap.MailboxAttrHasNoChildren, "INBOX": imap.MailboxAttrHasNoChildren,
	} {
		if l := byName(ls, name); l == nil || !hasAttr(l, attr) || l.Delim != '/' {
			t.Errorf("%s: %+v, want %s", name, l, attr)
		}
	}
}

func TestMailboxes_ListExtended(t *testing.T) {
	e, c := withFolders(t)
	// Standard mailboxes start subscribed; created ones too. Unsubscribe
	// all of Projects but Projects/Old.
	for _, n := range []string{"Projects", "Projects/2026", "Projects/2026/Q1", "Work"} {
		if err := c.Unsubscribe(n).Wait(); err != nil {
			t.Fatalf("UNSUBSCRIBE %s: %v", n, err)
		}
	}
	if err := c.Subscribe("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("Nope").Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("SUBSCRIBE missing: %v", err)
	}
	if !e.mailbox(e.alice, "Work").Subscribed || e.mailbox(e.alice, "Projects").Subscribed {
		t.Error("subscriptions not stored")
	}

	list := func(pattern string, o *imap.ListOptions) []*imap.ListData {
		t.Helper()
		ls, err := c.List("", pattern, o).Collect()
		if err != nil {
			t.Fatalf("LIST %q %+v: %v", pattern, o, err)
		}
		return ls
	}
	subscribed := []string{"Archive", "Drafts", "INBOX", "Junk", "Projects/Old", "Sent", "Trash", "Work"}
	ls := list("*", &imap.ListOptions{SelectSubscribed: true})
	if diff := cmp.Diff(subscribed, names(ls)); diff != "" {
		t.Errorf("LIST (SUBSCRIBED) (-want +got):\n%s", diff)
	}
	for _, l := range ls {
		if !hasAttr(l, imap.MailboxAttrSubscribed) {
			t.Errorf("%s lacks \\Subscribed", l.Mailbox)
		}
	}

	// LSUB is the old form of the same.
	lsub, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil || len(lsub) != len(subscribed) {
		t.Errorf("LSUB: %v %v", names(lsub), err)
	}

	// RECURSIVEMATCH: Projects is not subscribed but a child is.
	ls = list("%", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true})
	p := byName(ls, "Projects")
	if p == nil || p.ChildInfo == nil || !p.ChildInfo.Subscribed || hasAttr(p, imap.MailboxAttrSubscribed) {
		t.Errorf("RECURSIVEMATCH: Projects %+v in %v", p, names(ls))
	}

	// RETURN (SUBSCRIBED CHILDREN) on a plain LIST.
	ls = list("*", &imap.ListOptions{ReturnSubscribed: true, ReturnChildren: true})
	if w := byName(ls, "Work"); !hasAttr(w, imap.MailboxAttrSubscribed) || !hasAttr(w, imap.MailboxAttrHasNoChildren) {
		t.Errorf("RETURN: Work %+v", w)
	}
	if p := byName(ls, "Projects"); hasAttr(p, imap.MailboxAttrSubscribed) || !hasAttr(p, imap.MailboxAttrHasChildren) {
		t.Errorf("RETURN: Projects %+v", p)
	}

	// SPECIAL-USE selection and return.
	ls = list("*", &imap.ListOptions{SelectSpecialUse: true, ReturnSpecialUse: true})
	if diff := cmp.Diff([]string{"Archive", "Drafts", "Junk", "Sent", "Trash"}, names(ls)); diff != "" {
		t.Errorf("LIST (SPECIAL-USE) (-want +got):\n%s", diff)
	}
}

func TestMailboxes_ListStatus(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 3)
	c := e.login(e.alice, nil)
	ls, err := c.List("", "%", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{
		NumMessages: true, NumUnseen: true, UIDNext: true, Size: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	in := byName(ls, "INBOX")
	if in == nil || in.Status == nil || *in.Status.NumMessages != 3 || *in.Status.NumUnseen != 3 ||
		in.Status.UIDNext != 4 || *in.Status.Size == 0 {
		t.Fatalf("LIST-STATUS INBOX: %+v", in)
	}
	if s := byName(ls, "Sent"); s == nil || s.Status == nil || *s.Status.NumMessages != 0 {
		t.Errorf("LIST-STATUS Sent: %+v", s)
	}
}

func TestMailboxes_Create(t *testing.T) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	if err := c.Create("A/B/C", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"A", "A/B", "A/B/C"} {
		e.mailbox(e.alice, n)
	}
	if err := c.Create("D/", nil).Wait(); err != nil {
		t.Errorf("CREATE with a trailing delimiter: %v", err)
	}
	e.mailbox(e.alice, "D")

	for name, code := range map[string]imap.ResponseCode{
		"A/B": imap.ResponseCodeAlreadyExists, "inbox": imap.ResponseCodeAlreadyExists,
		"Sent": imap.ResponseCodeAlreadyExists, "a//b": imap.ResponseCodeCannot, "x*": imap.ResponseCodeCannot,
	} {
		if err := c.Create(name, nil).Wait(); imapCode(err) != code {
			t.Errorf("CREATE %q: %v, want [%s]", name, err, code)
		}
	}

	// CREATE-SPECIAL-USE.
	allMail := &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrAll}}
	if err := c.Create("Everything", allMail).Wait(); err != nil {
		t.Fatal(err)
	}
	ls, _ := c.List("", "Everything", nil).Collect()
	if len(ls) != 1 || !hasAttr(ls[0], imap.MailboxAttrAll) {
		t.Errorf("special use not listed: %+v", ls)
	}
	rc := e.raw(e.alice)
	if _, st := rc.cmd(`CREATE Odd (USE (\Important))`); !strings.HasPrefix(st, "NO [USEATTR]") {
		t.Errorf("unknown special use: %q", st)
	}
}

func TestMailboxes_Delete(t *testing.T) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	if err := c.Create("Old/Sub", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	e.deliverN(e.alice, 2)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1, 2), "Old/Sub").Wait(); err != nil {
		t.Fatal(err)
	}
	used := func() int64 {
		a, err := e.db.Client.Account.Get(adminCtx(), e.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.UsedBytes
	}
	before := used()

	if err := c.Delete("Old").Wait(); imapCode(err) != imap.ResponseCodeHasChildren {
		t.Errorf("DELETE with children: %v", err)
	}
	if err := c.Delete("INBOX").Wait(); imapCode(err) != imap.ResponseCodeCannot {
		t.Errorf("DELETE INBOX: %v", err)
	}
	if err := c.Delete("Missing").Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("DELETE missing: %v", err)
	}
	if err := c.Delete("Old/Sub").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Old").Wait(); err != nil {
		t.Fatal(err)
	}
	inbox := e.uidsOf(e.alice, "INBOX")
	var size int64
	for _, u := range inbox {
		size += e.message(e.alice, "INBOX", u).Size
	}
	if after := used(); after != before-size {
		t.Errorf("used bytes %d -> %d, want %d released", before, after, size)
	}
	if n, _ := e.db.Client.Message.Query().Count(adminCtx()); n != 2 {
		t.Errorf("%d messages left, want INBOX's 2", n)
	}
	ls, _ := c.List("", "Old*", nil).Collect()
	if len(ls) != 0 {
		t.Errorf("deleted mailboxes listed: %v", names(ls))
	}
}

func TestMailboxes_DeleteRecreateNewValidity(t *testing.T) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	for _, n := range []string{"Trash", "Fresh"} {
		if n == "Fresh" {
			if err := c.Create(n, nil).Wait(); err != nil {
				t.Fatal(err)
			}
		}
		old, err := c.Status(n, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(n).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(n, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(n, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if st.UIDValidity == old.UIDValidity {
			t.Errorf("%s re-created with the same UIDVALIDITY %d", n, st.UIDValidity)
		}
	}
}

func TestMailboxes_Rename(t *testing.T) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	if err := c.Create("Old/Sub", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	validity := e.mailbox(e.alice, "Old/Sub").UIDValidity
	if err := c.Rename("Old", "New/Renamed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	ls, _ := c.List("", "*", nil).Collect()
	got := names(ls)
	for _, n := range []string{"New", "New/Renamed", "New/Renamed/Sub"} {
		if !slices.Contains(got, n) {
			t.Errorf("%s missing after RENAME: %v", n, got)
		}
	}
	if slices.Contains(got, "Old") || slices.Contains(got, "Old/Sub") {
		t.Errorf("old names listed: %v", got)
	}
	if v := e.mailbox(e.alice, "New/Renamed/Sub").UIDValidity; v != validity {
		t.Errorf("UIDVALIDITY changed on rename: %d -> %d", validity, v)
	}
	if err := c.Rename("New", "Sent", nil).Wait(); imapCode(err) != imap.ResponseCodeAlreadyExists {
		t.Errorf("RENAME onto an existing name: %v", err)
	}
	if err := c.Rename("Missing", "X", nil).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("RENAME missing: %v", err)
	}

	// Renaming INBOX moves its messages and leaves it empty.
	e.deliverN(e.alice, 2)
	if err := c.Rename("INBOX", "Before", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if u := e.uidsOf(e.alice, "INBOX"); len(u) != 0 {
		t.Errorf("INBOX holds %v after RENAME", u)
	}
	st, err := c.Status("Before", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Errorf("STATUS Before: %+v %v", st, err)
	}
}

func TestMailboxes_Status(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxMessageBytes = 4096 })
	e.deliverN(e.alice, 3)
	c := e.selectInbox(e.alice, nil)
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true,
		NumUnseen: true, NumDeleted: true, Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, u := range e.uidsOf(e.alice, "INBOX") {
		size += e.message(e.alice, "INBOX", u).Size
	}
	mb := e.mailbox(e.alice, "INBOX")
	if st.Mailbox != "INBOX" || *st.NumMessages != 3 || st.UIDNext != 4 || st.UIDValidity != mb.UIDValidity ||
		*st.NumUnseen != 2 || *st.NumDeleted != 1 || *st.Size != size {
		t.Errorf("STATUS: %s, want 3 messages, UIDNEXT 4, 2 unseen, 1 deleted, size %d",
			statusString(st), size)
	}
	_, err = c.Status("Nope", &imap.StatusOptions{NumMessages: true}).Wait()
	if imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("STATUS missing: %v", err)
	}

	// The items the server parses but does not announce must not break
	// the connection.
	rc := e.raw(e.alice)
	u := rc.ok("STATUS INBOX (APPENDLIMIT DELETED-STORAGE RECENT)")
	if len(u) != 1 || !strings.Contains(u[0], "APPENDLIMIT 4096") || !strings.Contains(u[0], "DELETED-STORAGE 1") {
		t.Errorf("STATUS (APPENDLIMIT ...): %q", u)
	}
	rc.ok("NOOP")

	// INBOX in any case; the answer names it as stored.
	if u := rc.ok("STATUS inbox (MESSAGES)"); len(u) != 1 || u[0] != "* STATUS INBOX (MESSAGES 3)" {
		t.Errorf("STATUS inbox: %q", u)
	}
}

func TestMailboxes_SelectExamine(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 3)
	rc := e.raw(e.alice)
	u, st := rc.cmd("SELECT INBOX")
	joined := strings.Join(u, "\n")
	mb := e.mailbox(e.alice, "INBOX")
	for _, want := range []string{"* 3 EXISTS", `* FLAGS (\Seen \Answered \Flagged \Deleted \Draft)`,
		`PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft \*)`, "UIDNEXT 4",
		"UIDVALIDITY " + strconv.FormatUint(uint64(mb.UIDValidity), 10), "UNSEEN 1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SELECT lacks %q:\n%s", want, joined)
		}
	}
	if !strings.HasPrefix(st, "OK [READ-WRITE]") {
		t.Errorf("SELECT status %q", st)
	}

	u, st = rc.cmd("EXAMINE INBOX")
	if !strings.HasPrefix(st, "OK [READ-ONLY]") || !strings.Contains(strings.Join(u, "\n"), "* 3 EXISTS") {
		t.Errorf("EXAMINE: %q %q", u, st)
	}
	for _, cmd := range []string{`STORE 1 +FLAGS (\Seen)`, "EXPUNGE", "UID EXPUNGE 1", "MOVE 1 Trash"} {
		if _, st := rc.cmd("%s", cmd); !strings.HasPrefix(st, "NO") {
			t.Errorf("%s in EXAMINE: %q", cmd, st)
		}
	}
	rc.ok("FETCH 1 BODY[]")
	if e.message(e.alice, "INBOX", 1).Seen {
		t.Error("BODY[] in EXAMINE set \\Seen")
	}
	rc.ok("COPY 1 Archive") // allowed from a read-only mailbox

	if _, st := rc.cmd("SELECT Nope"); !strings.HasPrefix(st, "NO [NONEXISTENT]") {
		t.Errorf("SELECT missing: %q", st)
	}
	if _, st := rc.cmd("FETCH 1 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH after a failed SELECT: %q, want BAD (no mailbox selected)", st)
	}
}

func statusString(st *imap.StatusData) string {
	n := func(p *uint32) string {
		if p == nil {
			return "nil"
		}
		return strconv.FormatUint(uint64(*p), 10)
	}
	size := "nil"
	if st.Size != nil {
		size = strconv.FormatInt(*st.Size, 10)
	}
	return st.Mailbox + " messages " + n(st.NumMessages) + " uidnext " + strconv.Itoa(int(st.UIDNext)) +
		" unseen " + n(st.NumUnseen) + " deleted " + n(st.NumDeleted) + " size " + size
}
