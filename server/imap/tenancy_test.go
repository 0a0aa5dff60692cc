package imap_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestTenancy_OtherAccountsInvisible logs in as an account of another
// organization and as a second account of alice's own, and tries every
// way of reaching alice's mailboxes: by their names, by names that would
// be hers in a shared namespace, and through COPY, MOVE and APPEND.
func TestTenancy_OtherAccountsInvisible(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	rc := e.raw(e.alice)
	rc.ok("CREATE Secret")
	rc.ok("SELECT INBOX")
	rc.ok("COPY 1 Secret")

	other := e.newTenant("rival")
	mallory := e.accountIn(other, "mallory")
	bob := e.account("bob") // same organization as alice
	for name, a := range map[string]string{"other organization": mallory.Email, "same organization": bob.Email} {
		t.Run(name, func(t *testing.T) {
			rc := dialRaw(t, e.addr)
			rc.ok("LOGIN %s %q", a, password)
			u := rc.ok(`LIST "" "*"`)
			for _, l := range u {
				if strings.Contains(l, "Secret") {
					t.Errorf("LIST shows %q", l)
				}
			}
			if len(u) != 6 {
				t.Errorf("LIST: %q, want the 6 standard mailboxes", u)
			}
			for _, guess := range []string{"Secret", "alice/Secret", "alice@example.test/INBOX",
				"../alice/INBOX", "#shared/alice/INBOX", "user/alice/Secret"} {
				for _, cmd := range []string{"SELECT %q", "EXAMINE %q", "STATUS %q (MESSAGES)",
					"DELETE %q", "SUBSCRIBE %q", "RENAME %q Mine"} {
					if u, st := rc.cmd(cmd, guess); !strings.HasPrefix(st, "NO") || len(u) != 0 {
						t.Errorf("%s: %q %q", strings.ReplaceAll(cmd, "%q", guess), u, st)
					}
				}
			}
			rc.ok("SELECT INBOX")
			if u := rc.ok("FETCH 1:* (UID)"); len(u) != 0 {
				t.Errorf("own INBOX shows %q", u)
			}
			if u := rc.ok("UID FETCH 1:* (UID)"); len(u) != 0 {
				t.Errorf("UID FETCH shows %q", u)
			}
			if u := rc.ok("SEARCH ALL"); strings.Join(u, "") != "* SEARCH" {
				t.Errorf("SEARCH shows %q", u)
			}
			msg := testMessage("planted", "x")
			rc.ok("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
			rc.ok("NOOP")
			for _, cmd := range []string{"COPY 1 Secret", "MOVE 1 Secret", "APPEND Secret {1+}\r\nx"} {
				if _, st := rc.cmd("%s", cmd); !strings.HasPrefix(st, "NO [TRYCREATE]") {
					t.Errorf("%s: %q", cmd, st)
				}
			}
		})
	}

	// Alice's mailboxes are as they were.
	if got := e.uidsOf(e.alice, "Secret"); len(got) != 1 {
		t.Errorf("Secret holds %v", got)
	}
	if got := e.uidsOf(e.alice, "INBOX"); len(got) != 2 {
		t.Errorf("INBOX holds %v", got)
	}
	st, err := e.login(e.alice, nil).Status("Secret", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("alice's STATUS Secret: %+v %v", st, err)
	}
}

// TestTenancy_SameNamesApart gives two accounts a mailbox of the same
// name: each sees only its own messages in it.
func TestTenancy_SameNamesApart(t *testing.T) {
	e := start(t, nil)
	other := e.newTenant("rival")
	mallory := e.accountIn(other, "mallory")
	e.deliverN(e.alice, 3)
	e.deliver(mallory, testMessage("mine", "x"))
	for a, want := range map[string]uint32{e.alice.Email: 3, mallory.Email: 1} {
		rc := dialRaw(t, e.addr)
		rc.ok("LOGIN %s %q", a, password)
		u := rc.ok("STATUS INBOX (MESSAGES)")
		if len(u) != 1 || !strings.HasSuffix(u[0], "(MESSAGES "+u32(want)+")") {
			t.Errorf("%s: %q, want %d messages", a, u, want)
		}
	}
}
