package imap_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// idle starts IDLE on rc.
func (rc *rawConn) idle() {
	rc.t.Helper()
	rc.tag++
	rc.send("t%d IDLE", rc.tag)
	if l := rc.line(); !strings.HasPrefix(l, "+") {
		rc.t.Fatalf("IDLE: %q", l)
	}
}

// done ends IDLE and returns what came before the tagged OK.
func (rc *rawConn) done() []string {
	rc.t.Helper()
	rc.send("DONE")
	var out []string
	for {
		l := rc.line()
		if strings.HasPrefix(l, "t") && strings.Contains(l, " OK ") {
			return out
		}
		out = append(out, l)
	}
}

// within reads the next line, which must come within a second and be want.
func (rc *rawConn) within(want string) {
	rc.t.Helper()
	start := time.Now()
	if l := rc.lineWithin(time.Second); l != want {
		rc.t.Fatalf("got %q, want %q", l, want)
	}
	rc.t.Logf("%q after %v", want, time.Since(start).Round(time.Millisecond))
}

// TestIdle_WokenByEveryChange checks that an idling session hears, within
// a second each, of delivery by SMTP, of changes made through the API
// (mail/mailbox with the hub), and of another session's STORE, APPEND and
// EXPUNGE.
func TestIdle_WokenByEveryChange(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 3)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	rc.idle()

	e.deliver(e.alice, testMessage("smtp", "delivered while idling"))
	rc.within("* 4 EXISTS")

	apiMark(t, e, 1)
	rc.within(`* 1 FETCH (UID 1 FLAGS (\Seen))`)
	apiDelete(t, e, 2)
	rc.within("* 2 EXPUNGE")

	other := e.raw(e.alice)
	other.ok("SELECT INBOX") // UIDs 1 3 4
	other.ok(`STORE 2 +FLAGS.SILENT (\Flagged)`)
	rc.within(`* 2 FETCH (UID 3 FLAGS (\Flagged))`)
	msg := testMessage("imap", "appended by another session")
	other.ok("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	rc.within("* 4 EXISTS")
	other.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	rc.within(`* 1 FETCH (UID 1 FLAGS (\Seen \Deleted))`)
	other.ok("EXPUNGE")
	rc.within("* 1 EXPUNGE")

	if u := rc.done(); len(u) != 0 {
		t.Errorf("after DONE: %q", u)
	}
	u := rc.ok("FETCH 1:* (UID)")
	if len(u) != 3 || !strings.Contains(u[0], "UID 3") || !strings.Contains(u[2], "UID 5") {
		t.Errorf("after IDLE: %q", u)
	}
}

// TestIdle_NoopReports checks that NOOP reports the same changes, in the
// order RFC 9051 §7.5.1 needs: EXPUNGEs first, then EXISTS, then FETCH.
func TestIdle_NoopReports(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 4)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	if u := rc.ok("NOOP"); len(u) != 0 {
		t.Fatalf("NOOP with nothing new: %q", u)
	}

	apiDelete(t, e, 1, 3)
	e.deliver(e.alice, testMessage("new", "x"))
	apiMark(t, e, 4)
	want := []string{"* 3 EXPUNGE", "* 1 EXPUNGE", "* 3 EXISTS", `* 2 FETCH (UID 4 FLAGS (\Seen))`}
	if u := rc.ok("NOOP"); strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("NOOP: %q, want %q", u, want)
	}
	if u := rc.ok("NOOP"); len(u) != 0 {
		t.Errorf("second NOOP: %q", u)
	}
	// The session's own changes are not reported back to it.
	rc.ok(`STORE 1 +FLAGS.SILENT (\Flagged)`)
	if u := rc.ok("NOOP"); len(u) != 0 {
		t.Errorf("NOOP after its own STORE: %q", u)
	}
}

// TestIdle_ImapclientSeesMail runs IDLE through imapclient, as a mail
// client would, with a deleted mailbox at the end.
func TestIdle_ImapclientSeesMail(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 1)
	expunged := make(chan uint32, 8)
	exists := make(chan uint32, 8)
	c := e.selectInbox(e.alice, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { expunged <- seq },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(e.alice, testMessage("two", "x"))
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("EXISTS %d, want 2", n)
		}
	case <-time.After(time.Second):
		t.Fatal("no EXISTS within a second")
	}
	apiDelete(t, e, 1)
	select {
	case n := <-expunged:
		if n != 1 {
			t.Errorf("EXPUNGE %d, want 1", n)
		}
	case <-time.After(time.Second):
		t.Fatal("no EXPUNGE within a second")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if uids := fetchUIDs(t, c); !slices.Equal(uids, []imap.UID{2}) {
		t.Errorf("after IDLE: UIDs %v, want [2]", uids)
	}
}
