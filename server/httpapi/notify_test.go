package httpapi_test

import (
	"testing"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
)

// TestMessages_MutationsWakeSubscribers checks that a committed mutation
// wakes the subscribers of the mailboxes it changed, and that a mutation
// rolled back because one of its fields failed wakes no one.
func TestMessages_MutationsWakeSubscribers(t *testing.T) {
	e, a, b := messageTenants(t)
	archive := mailboxNamed(t, e, a, "Archive")
	m := seed(t, e, a, a.Inbox, simple("one", "x@remote.example"))
	hub := e.App.Notify
	inbox, arch := hub.Subscribe(pulid.ID(a.Inbox)), hub.Subscribe(pulid.ID(archive))
	defer inbox.Close()
	defer arch.Close()
	awake := func(s *notify.Subscription) bool {
		select {
		case <-s.C:
			return true
		default:
			return false
		}
	}

	mustDo(t, e, a.Token, `mutation($ids: [ID!]!) { markMessages(ids: $ids, seen: true) { id } }`,
		map[string]any{"ids": []string{m}}, nil)
	if !awake(inbox) || awake(arch) {
		t.Error("markMessages: want the INBOX woken, and only it")
	}

	// The mark succeeds, the move into another tenant's mailbox fails:
	// the transaction is rolled back and no one hears of the mark.
	r := e.Do(t, a.Token, `mutation($ids: [ID!]!, $to: ID!) {
		markMessages(ids: $ids, flagged: true) { id }
		moveMessages(ids: $ids, mailboxID: $to) { id }
	}`, map[string]any{"ids": []string{m}, "to": b.Inbox})
	if len(r.Errors) == 0 {
		t.Fatal("the move into another tenant's mailbox succeeded")
	}
	if awake(inbox) || awake(arch) {
		t.Error("a rolled-back mutation woke a subscriber")
	}

	mustDo(t, e, a.Token, `mutation($ids: [ID!]!, $to: ID!) {
		moveMessages(ids: $ids, mailboxID: $to) { id }
	}`, map[string]any{"ids": []string{m}, "to": archive}, nil)
	if !awake(inbox) || !awake(arch) {
		t.Error("moveMessages: want both the source and the target woken")
	}
}
