package search_test

import (
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/server/imap/search"
)

// reference is go-imap's in-memory server holding the corpus, driven over
// loopback by imapclient, and our Messages for the same mailbox.
type reference struct {
	client *imapclient.Client
	msgs   []*search.Message
	bounds search.Bounds
}

func startReference(t *testing.T) *reference {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "p")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	t.Cleanup(func() { srv.Close() })

	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatal(err)
	}

	ref := &reference{client: c}
	for i, s := range corpus {
		cmd := c.Append("INBOX", int64(len(s.raw)), &imap.AppendOptions{Flags: s.flags, Time: s.internal})
		if _, err := cmd.Write([]byte(s.raw)); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := cmd.Wait()
		if err != nil {
			t.Fatalf("APPEND message %d: %v", i+1, err)
		}
		ref.msgs = append(ref.msgs, newMessage(t, s, uint32(i+1), data.UID))
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	last := ref.msgs[len(ref.msgs)-1]
	ref.bounds = search.Bounds{MaxSeq: last.Seq, MaxUID: last.UID}
	return ref
}

// search runs UID SEARCH on the reference server.
func (ref *reference) search(t *testing.T, c *imap.SearchCriteria) []imap.UID {
	t.Helper()
	data, err := ref.client.UIDSearch(c, nil).Wait()
	if err != nil {
		t.Fatalf("UID SEARCH: %v", err)
	}
	return data.AllUIDs()
}

// deviations are the criteria of criteriaCases for which we differ from
// imapmemserver on purpose, or which it cannot run; the test
// TestReference_Deviations shows the differences.
var deviations = map[string]string{
	"nil":                        "imapclient cannot send a nil criteria (same as all)",
	"modseq":                     "imapmemserver has no CONDSTORE",
	"body sigma folding":         "imapmemserver lower-cases (bytes.ToLower), which leaves a final sigma apart",
	"body skips text attachment": "imapmemserver searches text/* attachments",
	"sentbefore":                 "imapmemserver dates a message without Date at year 1",
	"not sentbefore":             "imapmemserver dates a message without Date at year 1",
	"text header name":           "imapmemserver's TEXT reads header values, not names",
}

// TestReference_SameResults runs the criteria of the unit tests through
// imapmemserver and through Match, and requires the same UIDs.
func TestReference_SameResults(t *testing.T) {
	ref := startReference(t)
	cases := append([]criteriaCase(nil), criteriaCases...)
	// The unit tests' sizes are synthetic; these use the real ones.
	size := int64(len(corpus[2].raw))
	cases = append(cases,
		criteriaCase{name: "real larger", c: &imap.SearchCriteria{Larger: size}},
		criteriaCase{name: "real smaller", c: &imap.SearchCriteria{Smaller: size}},
		criteriaCase{name: "real not smaller", c: not(&imap.SearchCriteria{Smaller: size + 1})},
	)
	for _, tc := range cases {
		if _, skip := deviations[tc.name]; skip {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			want := ref.search(t, tc.c)
			got := matchAll(t, ref.msgs, tc.c, ref.bounds)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("UIDs (-imapmemserver +ours):\n%s", diff)
			}
		})
	}
}

// TestReference_Deviations pins where we differ from imapmemserver, so
// that a change on either side is noticed.
func TestReference_Deviations(t *testing.T) {
	ref := startReference(t)
	uidOf := func(seq int) []imap.UID { return []imap.UID{ref.msgs[seq-1].UID} }
	for _, tc := range []struct {
		name      string
		c         *imap.SearchCriteria
		mem, ours []imap.UID
	}{
		// RFC 9051 §6.4.4 asks for case-insensitive matching; Σ, σ and
		// ς are one case folding class, but not one lower case.
		{"final sigma", body("σίσυφος"), nil, uidOf(3)},
		// We leave attachments out of BODY, text files included.
		{"text attachment", body("hiddennote"), uidOf(5), nil},
		// imapmemserver's TEXT also reads the MIME headers of the parts,
		// but only the values of the fields.
		{"part header", text("notes.txt"), uidOf(5), nil},
		{"field name", text("subject: quarterly"), nil, uidOf(1)},
		// go-message's Date() is the zero time, not an error, without a
		// Date field, so imapmemserver finds message 6 sent in year 1;
		// without a Date there is no sent date to compare (§6.4.4).
		{"no date", &imap.SearchCriteria{SentBefore: day(1970, 1, 1)}, uidOf(6), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.mem, ref.search(t, tc.c)); diff != "" {
				t.Errorf("imapmemserver (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ours, matchAll(t, ref.msgs, tc.c, ref.bounds)); diff != "" {
				t.Errorf("ours (-want +got):\n%s", diff)
			}
		})
	}
}
