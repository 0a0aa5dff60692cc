package imap_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"

	imapsrv "github.com/lightr-mail/lightr/server/imap"
)

// TestConcurrency_SequenceNumbersHeld has one session expunge and append
// while another, which has not been told yet, FETCHes, STOREs and
// SEARCHes by its own sequence numbers: those must keep naming the same
// messages, EXPUNGE must wait for a command that allows it (RFC 9051
// §7.5.1), and then come highest first.
func TestConcurrency_SequenceNumbersHeld(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 5)
	a, b := e.raw(e.alice), e.raw(e.alice)
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")

	b.ok(`STORE 2,4 +FLAGS.SILENT (\Deleted)`)
	if u := b.ok("EXPUNGE"); strings.Join(u, ",") != "* 4 EXPUNGE,* 2 EXPUNGE" {
		t.Fatalf("B EXPUNGE: %q", u)
	}
	msg := testMessage("late", "appended by B")
	if u := b.ok("APPEND INBOX {%d+}\r\n%s", len(msg), msg); strings.Join(u, ",") != "* 4 EXISTS" {
		t.Fatalf("B APPEND: %q", u)
	}

	// A still numbers 1..5 as UIDs 1..5; the expunged ones are left out.
	noExpunge := func(cmd string, u []string) {
		t.Helper()
		for _, l := range u {
			if strings.HasSuffix(l, "EXPUNGE") {
				t.Errorf("%s sent %q", cmd, l)
			}
		}
	}
	u := a.ok("FETCH 1:5 (UID)")
	noExpunge("FETCH", u)
	want := []string{"* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)", "* 5 FETCH (UID 5)", "* 6 EXISTS"}
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("A FETCH 1:5: %q, want %q", u, want)
	}
	u = a.ok(`STORE 3 +FLAGS (\Flagged)`)
	noExpunge("STORE", u)
	if strings.Join(u, ",") != `* 3 FETCH (UID 3 FLAGS (\Flagged))` {
		t.Errorf("A STORE 3: %q", u)
	}
	if !e.message(e.alice, "INBOX", 3).Flagged {
		t.Error("A's STORE 3 did not reach UID 3")
	}
	u = a.ok("SEARCH ALL")
	noExpunge("SEARCH", u)
	if strings.Join(u, ",") != "* SEARCH 1 3 5 6" {
		t.Errorf("A SEARCH ALL: %q", u)
	}

	// Now it may be told, highest first.
	if u := a.ok("NOOP"); strings.Join(u, ",") != "* 4 EXPUNGE,* 2 EXPUNGE" {
		t.Errorf("A NOOP: %q", u)
	}
	if u := b.ok("NOOP"); strings.Join(u, ",") != `* 2 FETCH (UID 3 FLAGS (\Flagged))` {
		t.Errorf("B NOOP: %q", u)
	}
	for name, rc := range map[string]*rawConn{"A": a, "B": b} {
		if u := rc.ok("FETCH 1:* (UID)"); strings.Join(u, ",") !=
			"* 1 FETCH (UID 1),* 2 FETCH (UID 3),* 3 FETCH (UID 5),* 4 FETCH (UID 6)" {
			t.Errorf("%s after sync: %q", name, u)
		}
	}

	// A UID command may carry EXPUNGE (RFC 9051 §7.5.1).
	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	if u := a.ok("UID FETCH 6 (UID)"); strings.Join(u, ",") != "* 4 FETCH (UID 6),* 1 EXPUNGE" {
		t.Errorf("A UID FETCH: %q", u)
	}
}

// view is what a session's client knows of the mailbox: the UID of each
// sequence number, 0 where an EXISTS announced a message not fetched yet.
type view struct {
	uids []imap.UID
}

var (
	reExpunge = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	reExists  = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	reFetch   = regexp.MustCompile(`^\* (\d+) FETCH \(.*UID (\d+)`)
)

// apply updates v with the untagged responses of cmd and reports the
// ones that contradict it.
func (v *view) apply(t testing.TB, cmd string, u []string) {
	t.Helper()
	noExpunge := strings.HasPrefix(cmd, "FETCH") || strings.HasPrefix(cmd, "STORE") ||
		strings.HasPrefix(cmd, "SEARCH")
	for _, l := range u {
		if m := reExpunge.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if noExpunge {
				t.Errorf("%s: %q during a command that forbids it", cmd, l)
			}
			if n < 1 || n > len(v.uids) {
				t.Errorf("%s: %q with %d messages", cmd, l, len(v.uids))
				continue
			}
			v.uids = slices.Delete(v.uids, n-1, n)
		} else if m := reExists.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n < len(v.uids) {
				t.Errorf("%s: %q shrinks %d messages", cmd, l, len(v.uids))
			}
			for len(v.uids) < n {
				v.uids = append(v.uids, 0)
			}
		} else if m := reFetch.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			uid, _ := strconv.Atoi(m[2])
			if n < 1 || n > len(v.uids) {
				t.Errorf("%s: %q with %d messages", cmd, l, len(v.uids))
				continue
			}
			if have := v.uids[n-1]; have != 0 && have != imap.UID(uid) {
				t.Errorf("%s: %q, but sequence %d is UID %d", cmd, l, n, have)
			}
			v.uids[n-1] = imap.UID(uid)
		}
	}
}

// TestConcurrency_RandomSessions runs three sessions on one mailbox at
// once, each storing, expunging, appending and fetching at random, and
// checks every response against what that session was told before;
// after a final NOOP they all see the mailbox as stored, and no UID was
// handed out twice.
func TestConcurrency_RandomSessions(t *testing.T) {
	e := start(t, func(o *imapsrv.Options) { o.MaxConnectionsPerAccount = 10 })
	e.deliverN(e.alice, 10)
	const sessions, steps = 3, 40
	conns := make([]*rawConn, sessions)
	views := make([]*view, sessions)
	for i := range conns {
		conns[i] = e.raw(e.alice)
		conns[i].ok("SELECT INBOX")
		views[i] = &view{}
		views[i].apply(t, "SELECT", []string{"* 10 EXISTS"})
		views[i].apply(t, "FETCH", conns[i].ok("FETCH 1:* (UID)"))
	}
	var mu sync.Mutex
	var appended []imap.UID
	reAppendUID := regexp.MustCompile(`APPENDUID \d+ (\d+)`)

	t.Run("sessions", func(t *testing.T) {
		for i := range sessions {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				rc, v := conns[i], views[i]
				rc.t = t
				r := rand.New(rand.NewPCG(uint64(i), 7))
				for step := range steps {
					var cmd string
					n := len(v.uids)
					switch k := r.IntN(6); {
					case k == 0 || n == 0:
						msg := testMessage(fmt.Sprintf("s%d-%d", i, step), "x")
						cmd = fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
					case k == 1:
						cmd = fmt.Sprintf(`STORE %d +FLAGS (\Flagged)`, 1+r.IntN(n))
					case k == 2:
						cmd = fmt.Sprintf(`STORE %d +FLAGS.SILENT (\Deleted)`, 1+r.IntN(n))
					case k == 3:
						cmd = "EXPUNGE"
					case k == 4:
						cmd = "FETCH 1:* (UID FLAGS)"
					default:
						cmd = "NOOP"
					}
					u, st := rc.cmd("%s", cmd)
					if !strings.HasPrefix(st, "OK") {
						t.Errorf("%s: %s", cmd, st)
					}
					v.apply(t, cmd, u)
					if m := reAppendUID.FindStringSubmatch(st); m != nil {
						uid, _ := strconv.Atoi(m[1])
						mu.Lock()
						appended = append(appended, imap.UID(uid))
						mu.Unlock()
					}
				}
			})
		}
	})

	stored := e.uidsOf(e.alice, "INBOX")
	for i, rc := range conns {
		rc.t = t
		views[i].apply(t, "NOOP", rc.ok("NOOP"))
		views[i].apply(t, "FETCH", rc.ok("FETCH 1:* (UID)"))
		if !slices.Equal(views[i].uids, stored) {
			t.Errorf("session %d sees %v, stored %v", i, views[i].uids, stored)
		}
	}
	slices.Sort(appended)
	if len(slices.Compact(slices.Clone(appended))) != len(appended) || (len(appended) > 0 && appended[0] <= 10) {
		t.Errorf("APPENDUIDs %v: reused or not above the delivered 1..10", appended)
	}
}

// TestConcurrency_UIDsNotReused expunges the newest message and delivers
// another: it gets a new UID, above every UID given before.
func TestConcurrency_UIDsNotReused(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 3)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	rc.ok("EXPUNGE")
	e.deliver(e.alice, testMessage("after", "x"))
	if u := rc.ok("NOOP"); strings.Join(u, ",") != "* 3 EXISTS" {
		t.Errorf("NOOP: %q", u)
	}
	if u := rc.ok("FETCH 3 (UID)"); strings.Join(u, ",") != "* 3 FETCH (UID 4)" {
		t.Errorf("new message: %q, want UID 4", u)
	}
	u := rc.ok("STATUS INBOX (UIDNEXT)")
	if strings.Join(u, ",") != "* STATUS INBOX (UIDNEXT 5)" {
		t.Errorf("STATUS: %q", u)
	}
}
