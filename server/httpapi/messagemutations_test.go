package httpapi_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/servertest"
)

func TestMessages_Mark(t *testing.T) {
	e, a, _ := messageTenants(t)
	m1 := seed(t, e, a, a.Inbox, simple("one", "x@remote.example"))
	m2 := seed(t, e, a, a.Inbox, simple("two", "x@remote.example"))
	before := mailboxOf(t, e, a.Inbox).HighestModseq

	var out struct {
		MarkMessages []struct {
			ID                      string
			Seen, Flagged, Answered bool
		}
	}
	mustDo(t, e, a.Token, `mutation($ids: [ID!]!) {
		markMessages(ids: $ids, seen: true, flagged: true) { id seen flagged answered }
	}`, map[string]any{"ids": []string{m2, m1}}, &out)
	if got := out.MarkMessages; len(got) != 2 || got[0].ID != m2 || got[1].ID != m1 ||
		!got[0].Seen || !got[0].Flagged || got[0].Answered {
		t.Errorf("markMessages returned %+v", got)
	}
	mod := mailboxOf(t, e, a.Inbox).HighestModseq
	if mod != before+1 {
		t.Errorf("INBOX highest modseq %d -> %d, want one step", before, mod)
	}
	want := messageState{Mailbox: a.Inbox, UID: stateOf(t, e, m1).UID, Modseq: mod,
		Seen: true, Flagged: true}
	if diff := cmp.Diff(want, stateOf(t, e, m1)); diff != "" {
		t.Errorf("m1 (-want +got):\n%s", diff)
	}

	// Clearing a flag, leaving the rest.
	mustDo(t, e, a.Token, `mutation($ids: [ID!]!) { markMessages(ids: $ids, seen: false) { id } }`,
		map[string]any{"ids": []string{m1}}, nil)
	if got := stateOf(t, e, m1); got.Seen || !got.Flagged || got.Modseq != mod+1 {
		t.Errorf("after seen: false, m1 = %+v", got)
	}

	// Nothing to change is a client error.
	r := e.Do(t, a.Token, `mutation($ids: [ID!]!) { markMessages(ids: $ids) { id } }`,
		map[string]any{"ids": []string{m1}})
	wantCode(t, r, "BAD_USER_INPUT")
}

func TestMessages_Move(t *testing.T) {
	e, a, _ := messageTenants(t)
	archive := mailboxNamed(t, e, a, "Archive")
	m1 := seed(t, e, a, a.Inbox, simple("one", "x@remote.example"))
	m2 := seed(t, e, a, a.Inbox, simple("two", "x@remote.example"))
	inbox, arch := mailboxOf(t, e, a.Inbox), mailboxOf(t, e, archive)

	var out struct {
		MoveMessages []struct {
			ID, MailboxID string
			UID           int
			Mailbox       struct{ Name string }
		}
	}
	mustDo(t, e, a.Token, `mutation($ids: [ID!]!, $to: ID!) {
		moveMessages(ids: $ids, mailboxID: $to) { id mailboxID uid mailbox { name } }
	}`, map[string]any{"ids": []string{m1, m2}, "to": archive}, &out)
	if got := out.MoveMessages; len(got) != 2 || got[0].MailboxID != archive ||
		got[0].Mailbox.Name != "Archive" || got[0].UID != int(arch.UIDNext) ||
		got[1].UID != int(arch.UIDNext)+1 {
		t.Errorf("moveMessages returned %+v; want UIDs from %d in Archive", got, arch.UIDNext)
	}
	inbox2, arch2 := mailboxOf(t, e, a.Inbox), mailboxOf(t, e, archive)
	if arch2.UIDNext != arch.UIDNext+2 || inbox2.UIDNext != inbox.UIDNext {
		t.Errorf("uidNext: Archive %d -> %d (want +2), INBOX %d -> %d (want unchanged)",
			arch.UIDNext, arch2.UIDNext, inbox.UIDNext, inbox2.UIDNext)
	}
	if inbox2.HighestModseq != inbox.HighestModseq+1 || arch2.HighestModseq != arch.HighestModseq+1 {
		t.Errorf("highest modseq: INBOX %d -> %d, Archive %d -> %d; want one step each",
			inbox.HighestModseq, inbox2.HighestModseq, arch.HighestModseq, arch2.HighestModseq)
	}
	if got := stateOf(t, e, m2); got.Modseq != arch2.HighestModseq {
		t.Errorf("moved message modseq %d, want Archive's %d", got.Modseq, arch2.HighestModseq)
	}

	// Another account's mailbox, in the same organization, is refused.
	var acc struct {
		CreateAccount struct {
			Account struct{ Mailboxes []struct{ ID string } }
		}
	}
	mustDo(t, e, a.Token, `mutation($in: CreateAccountInput!) {
		createAccount(input: $in) { account { mailboxes { id } } }
	}`, map[string]any{"in": map[string]any{"localPart": "other", "domainID": a.Domain}}, &acc)
	r := e.Do(t, a.Token, `mutation($ids: [ID!]!, $to: ID!) {
		moveMessages(ids: $ids, mailboxID: $to) { id } }`,
		map[string]any{"ids": []string{m1}, "to": acc.CreateAccount.Account.Mailboxes[0].ID})
	wantCode(t, r, "BAD_USER_INPUT")
	if got := stateOf(t, e, m1).Mailbox; got != archive {
		t.Errorf("m1 went to %s", got)
	}
}

func TestMessages_Delete(t *testing.T) {
	e, a, _ := messageTenants(t)
	raw := simple("copied", "x@remote.example")
	m1 := seed(t, e, a, a.Inbox, raw)
	m2 := seed(t, e, a, mailboxNamed(t, e, a, "Archive"), raw) // same bytes, one blob
	used := usedBytes(t, e, a.Account)
	mod := mailboxOf(t, e, a.Inbox).HighestModseq
	blobs := func() int {
		n, err := e.App.DB.Client.Blob.Query().Count(e.Admin())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	nBlobs := blobs()

	var out struct{ DeleteMessages int }
	mustDo(t, e, a.Token, `mutation($ids: [ID!]!) { deleteMessages(ids: $ids) }`,
		map[string]any{"ids": []string{m1}}, &out)
	if out.DeleteMessages != 1 || exists(t, e, m1) {
		t.Errorf("deleteMessages = %d, m1 exists %v", out.DeleteMessages, exists(t, e, m1))
	}
	if got := usedBytes(t, e, a.Account); got != used-int64(len(raw.Raw)) {
		t.Errorf("used bytes %d -> %d, want -%d", used, got, len(raw.Raw))
	}
	if got := mailboxOf(t, e, a.Inbox).HighestModseq; got != mod+1 {
		t.Errorf("INBOX highest modseq %d -> %d", mod, got)
	}
	if got := blobs(); got != nBlobs {
		t.Errorf("blobs %d -> %d while a copy still uses it", nBlobs, got)
	}

	// The raw message stays downloadable through the copy, then goes.
	if r := download(t, e, a.Token, "/messages/"+m2+"/raw"); r.Status != 200 {
		t.Errorf("copy's raw message: status %d", r.Status)
	}
	mustDo(t, e, a.Token, `mutation($ids: [ID!]!) { deleteMessages(ids: $ids) }`,
		map[string]any{"ids": []string{m2}}, &out)
	if got := blobs(); got != nBlobs-1 {
		t.Errorf("blobs %d -> %d after the last copy went, want one less", nBlobs, got)
	}
}

// TestMessages_OtherOrganization checks that B can neither read nor
// change A's messages, with its ids alone or mixed with its own.
func TestMessages_OtherOrganization(t *testing.T) {
	e, a, b := messageTenants(t)
	am := seed(t, e, a, a.Inbox, multipart())
	archiveA, archiveB := mailboxNamed(t, e, a, "Archive"), mailboxNamed(t, e, b, "Archive")
	before := map[string]messageState{am: stateOf(t, e, am), b.Message: stateOf(t, e, b.Message)}
	usedA := usedBytes(t, e, a.Account)

	r := e.Do(t, b.Token, `query($id: ID!) { messages(where: {id: $id}) {
		totalCount edges { node { id textBody headers { name } } } } }`,
		map[string]any{"id": am})
	wantOK(t, r)
	if n, ids := connIDs(t, r.Data, "messages"); n != 0 || len(ids) != 0 {
		t.Errorf("B lists A's message: %v", ids)
	}
	wantCode(t, e.Do(t, b.Token, `query($id: ID!) { node(id: $id) { id } }`,
		map[string]any{"id": am}), "NOT_FOUND", am)

	mutations := []struct {
		name, query string
		vars        map[string]any
	}{
		{"mark", `mutation($ids: [ID!]!) { markMessages(ids: $ids, seen: true) { id } }`, nil},
		{"move", `mutation($ids: [ID!]!, $to: ID!) { moveMessages(ids: $ids, mailboxID: $to) { id } }`,
			map[string]any{"to": archiveB}},
		{"move into A's mailbox", `mutation($ids: [ID!]!, $to: ID!) {
			moveMessages(ids: $ids, mailboxID: $to) { id } }`, map[string]any{"to": archiveA}},
		{"delete", `mutation($ids: [ID!]!) { deleteMessages(ids: $ids) }`, nil},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			idSets := [][]string{{am}, {b.Message, am}}
			if m.name == "move into A's mailbox" {
				idSets = [][]string{{b.Message}}
			}
			for _, ids := range idSets {
				vars := map[string]any{"ids": ids}
				for k, v := range m.vars {
					vars[k] = v
				}
				wantCode(t, e.Do(t, b.Token, m.query, vars), "NOT_FOUND", am)
			}
		})
	}
	for id, want := range before {
		if diff := cmp.Diff(want, stateOf(t, e, id)); diff != "" {
			t.Errorf("%s changed (-before +after):\n%s", id, diff)
		}
	}
	if got := usedBytes(t, e, a.Account); got != usedA {
		t.Errorf("A's used bytes %d -> %d", usedA, got)
	}
	for _, path := range []string{"/messages/" + am + "/raw", "/messages/" + am + "/attachments/0"} {
		if r := download(t, e, b.Token, path); r.Status != 404 {
			t.Errorf("B downloads %s: status %d, want 404", path, r.Status)
		}
	}
}

func TestMessages_MutationsNeedWriteScope(t *testing.T) {
	e, a, _ := messageTenants(t)
	m := seed(t, e, a, a.Inbox, simple("one", "x@remote.example"))
	before := stateOf(t, e, m)
	readOnly := e.Token(t, pulid.ID(a.Org), "read")
	for _, q := range []string{
		`mutation($ids: [ID!]!) { markMessages(ids: $ids, seen: true) { id } }`,
		`mutation($ids: [ID!]!) { moveMessages(ids: $ids, mailboxID: "` +
			mailboxNamed(t, e, a, "Archive") + `") { id } }`,
		`mutation($ids: [ID!]!) { deleteMessages(ids: $ids) }`,
	} {
		wantCode(t, e.Do(t, readOnly, q, map[string]any{"ids": []string{m}}), "FORBIDDEN")
	}
	if diff := cmp.Diff(before, stateOf(t, e, m)); diff != "" {
		t.Errorf("a read-only token changed the message (-before +after):\n%s", diff)
	}
}

// download fetches path with bearer ("" for none).
func download(t testing.TB, e *servertest.Env, bearer, path string) rawResponse {
	t.Helper()
	hdr := map[string][]string{}
	if bearer != "" {
		hdr["Authorization"] = []string{"Bearer " + bearer}
	}
	return send(t, e, "GET", path, hdr, nil)
}
