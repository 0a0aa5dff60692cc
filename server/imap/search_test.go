package imap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// searchFixture appends five messages with known dates, sizes, headers
// and flags to alice's INBOX and returns a raw session with it selected.
//
//	UID 1: from bob, "Quarterly report", 2026-01-10, \Seen
//	UID 2: from carol, "Lunch", 2026-02-20, \Flagged, keyword $Work
//	UID 3: from bob, "Re: Quarterly report", 2026-03-30, \Answered \Seen, big body
//	UID 4: from dave, "Holiday", 2026-04-15, \Deleted
//	UID 5: from carol, "Invoice 42", 2026-05-01, \Draft, Cc bob
func searchFixture(t *testing.T) (*env, *rawConn) {
	e := start(t, nil)
	c := e.login(e.alice, nil)
	msg := func(from, subject, date, extra, body string) string {
		return "From: " + from + "\r\nTo: alice@example.test\r\n" + extra + "Subject: " + subject +
			"\r\nDate: " + date + "\r\n\r\n" + body + "\r\n"
	}
	add := func(raw string, day time.Time, flags ...imap.Flag) {
		e.appendMessage(c, "INBOX", raw, &imap.AppendOptions{Flags: flags, Time: day})
	}
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 12, 0, 0, 0, time.UTC) }
	add(msg("Bob <bob@sender.example>", "Quarterly report", "Sat, 10 Jan 2026 12:00:00 +0000", "",
		"The numbers are in."), d(1, 10), imap.FlagSeen)
	add(msg("Carol <carol@other.example>", "Lunch", "Fri, 20 Feb 2026 12:00:00 +0000", "",
		"Pizza at noon?"), d(2, 20), imap.FlagFlagged, "$Work")
	add(msg("Bob <bob@sender.example>", "Re: Quarterly report", "Mon, 30 Mar 2026 12:00:00 +0000", "",
		strings.Repeat("A long answer with many words. ", 100)), d(3, 30), imap.FlagAnswered, imap.FlagSeen)
	add(msg("Dave <dave@sender.example>", "Holiday", "Wed, 15 Apr 2026 12:00:00 +0000", "X-Priority: 1\r\n",
		"Out of office."), d(4, 15), imap.FlagDeleted)
	add(msg("Carol <carol@other.example>", "Invoice 42", "Fri, 01 May 2026 12:00:00 +0000",
		"Cc: bob@sender.example\r\n", "Please pay the invoice."), d(5, 1), imap.FlagDraft)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	return e, rc
}

func TestSearch_Criteria(t *testing.T) {
	_, rc := searchFixture(t)
	tests := []struct {
		criteria string
		want     string // the SEARCH response, sequence numbers
	}{
		{"ALL", "1 2 3 4 5"},
		{"SEEN", "1 3"},
		{"UNSEEN", "2 4 5"},
		{"FLAGGED", "2"},
		{"UNFLAGGED", "1 3 4 5"},
		{"ANSWERED", "3"},
		{"UNANSWERED", "1 2 4 5"},
		{"DELETED", "4"},
		{"UNDELETED", "1 2 3 5"},
		{"DRAFT", "5"},
		{"UNDRAFT", "1 2 3 4"},
		{"KEYWORD $Work", "2"},
		{"KEYWORD $work", "2"},
		{"UNKEYWORD $Work", "1 3 4 5"},
		{"FROM bob", "1 3"},
		{"FROM CAROL@OTHER", "2 5"},
		{"TO alice", "1 2 3 4 5"},
		{"CC bob", "5"},
		{"SUBJECT quarterly", "1 3"},
		{"HEADER X-Priority 1", "4"},
		{"HEADER X-Priority \"\"", "4"},
		{"BODY pizza", "2"},
		{"TEXT invoice", "5"},
		{"TEXT carol", "2 5"},
		{"BEFORE 20-Feb-2026", "1"},
		{"ON 20-Feb-2026", "2"},
		{"SINCE 30-Mar-2026", "3 4 5"},
		{"SENTBEFORE 1-Mar-2026", "1 2"},
		{"SENTON 15-Apr-2026", "4"},
		{"SENTSINCE 15-Apr-2026", "4 5"},
		{"LARGER 1000", "3"},
		{"SMALLER 1000", "1 2 4 5"},
		{"OR FLAGGED DRAFT", "2 5"},
		{"NOT SEEN", "2 4 5"},
		{"NOT OR SEEN DELETED", "2 5"},
		{"FROM bob SEEN NOT ANSWERED", "1"},
		{"(FROM bob) (SINCE 1-Feb-2026)", "3"},
		{"2:4", "2 3 4"},
		{"2:* UNSEEN", "2 4 5"},
		{"UID 1,5", "1 5"},
		{"UID 4:*", "4 5"},
		{"NOT UID 1:3", "4 5"},
		{"SUBJECT nothing-like-this", ""},
	}
	for _, tt := range tests {
		u := rc.ok("SEARCH %s", tt.criteria)
		want := "* SEARCH"
		if tt.want != "" {
			want += " " + tt.want
		}
		if len(u) != 1 || u[0] != want {
			t.Errorf("SEARCH %s: %q, want %q", tt.criteria, u, want)
		}
	}
	if u := rc.ok("UID SEARCH FROM carol"); len(u) != 1 || u[0] != "* SEARCH 2 5" {
		t.Errorf("UID SEARCH: %q", u)
	}
}

func TestSearch_ESearch(t *testing.T) {
	_, rc := searchFixture(t)
	tests := []struct {
		cmd, want string
	}{
		{"SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN", "* ESEARCH (TAG \"t3\") ALL 2,4:5 MIN 2 MAX 5 COUNT 3"},
		{"SEARCH RETURN () SEEN", "* ESEARCH (TAG \"t4\") ALL 1,3"},
		{"UID SEARCH RETURN (COUNT) FROM bob", "* ESEARCH (TAG \"t5\") UID COUNT 2"},
		{"SEARCH RETURN (MIN) SUBJECT nothing", "* ESEARCH (TAG \"t6\")"},
	}
	for _, tt := range tests {
		u := rc.ok("%s", tt.cmd)
		if len(u) != 1 || u[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, u, tt.want)
		}
	}

	// SAVE keeps the result for "$" (RFC 5182), in later searches too.
	rc.ok("SEARCH RETURN (SAVE) FROM carol")
	if u := rc.ok("SEARCH $ FLAGGED"); len(u) != 1 || u[0] != "* SEARCH 2" {
		t.Errorf("SEARCH $ FLAGGED: %q", u)
	}
	if u := rc.ok("UID STORE $ +FLAGS.SILENT (\\Seen)"); len(u) != 0 {
		t.Errorf("UID STORE $: %q", u)
	}
	if u := rc.ok("SEARCH SEEN"); len(u) != 1 || u[0] != "* SEARCH 1 2 3 5" {
		t.Errorf("after STORE $: %q", u)
	}
}
