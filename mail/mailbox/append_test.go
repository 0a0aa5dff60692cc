package mailbox_test

import (
	"slices"
	"testing"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

// TestAppend_KeepsFlags checks that an appended message gets the flags the
// client gave (IMAP APPEND's flag list; mbsync uploads a read message
// with \Seen), keywords deduplicated case-insensitively.
func TestAppend_KeepsFlags(t *testing.T) {
	f := newFixture(t)
	m, err := mailbox.Append(accountViewer(f.a1), f.c, f.st, nil, mailbox.AppendInput{
		Mailbox: f.a1.inbox, Raw: []byte("Subject: kept\r\n\r\nbody\r\n"),
		Flags: mailbox.FlagSet{Seen: true, Draft: true, Keywords: []string{"Work", "work", "$Later"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := f.message(t, m.ID)
	if !got.Seen || !got.Draft || got.Flagged || got.Answered || got.Deleted ||
		!slices.Equal(got.Keywords, []string{"Work", "$Later"}) {
		t.Errorf("appended with \\Seen \\Draft Work work $Later, stored seen %v draft %v "+
			"flagged %v answered %v deleted %v keywords %q", got.Seen, got.Draft, got.Flagged,
			got.Answered, got.Deleted, got.Keywords)
	}
}

// TestAppend_SystemContext checks that the system context passes the
// write-scope check, whatever viewer it carries: a caller that already
// authorized the change (sendEmail's Sent copy for a send-only key) runs
// Append as the system.
func TestAppend_SystemContext(t *testing.T) {
	f := newFixture(t)
	ctx := rule.SystemContext(orgViewer(f.orgA, viewer.ScopeSend))
	_, err := mailbox.Append(ctx, f.c, f.st, nil, mailbox.AppendInput{
		Mailbox: f.a1.inbox, Raw: []byte("Subject: sent\r\n\r\nbody\r\n"),
	})
	if err != nil {
		t.Fatalf("Append as the system: %v", err)
	}
}
