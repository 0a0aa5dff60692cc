package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"entgo.io/ent/privacy"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

// ops calls each function of the package on ids, moving into target.
var ops = []struct {
	name string
	call func(ctx context.Context, f *fixture, ids []pulid.ID, target pulid.ID) error
}{
	{"Mark", func(ctx context.Context, f *fixture, ids []pulid.ID, _ pulid.ID) error {
		_, err := mailbox.Mark(ctx, f.c, nil, ids, mailbox.Flags{Seen: ptr(true)})
		return err
	}},
	{"Move", func(ctx context.Context, f *fixture, ids []pulid.ID, target pulid.ID) error {
		_, err := mailbox.Move(ctx, f.c, nil, ids, target)
		return err
	}},
	{"Delete", func(ctx context.Context, f *fixture, ids []pulid.ID, _ pulid.ID) error {
		_, err := mailbox.Delete(ctx, f.c, f.st, nil, ids)
		return err
	}},
}

// snapshot is everything the operations could change.
type snapshot struct {
	Messages  []string // id mailbox uid modseq flags
	Mailboxes []string // id uid_next highest_modseq
	Used      []int64
	Blobs     int
}

func (f *fixture) snapshot(t testing.TB) snapshot {
	t.Helper()
	var s snapshot
	for _, m := range must(f.c.Message.Query().Order(ent.Asc("id")).All(admin()))(t) {
		s.Messages = append(s.Messages, fmt.Sprintf("%s %s %d %d seen=%v flagged=%v answered=%v",
			m.ID, m.MailboxID, m.UID, m.Modseq, m.Seen, m.Flagged, m.Answered))
	}
	for _, m := range must(f.c.Mailbox.Query().Order(ent.Asc("id")).All(admin()))(t) {
		s.Mailboxes = append(s.Mailboxes, fmt.Sprintf("%s %d %d", m.ID, m.UIDNext, m.HighestModseq))
	}
	for _, a := range []*account{f.a1, f.a2, f.b1} {
		s.Used = append(s.Used, f.usedBytes(t, a))
	}
	s.Blobs = must(f.c.Blob.Query().Count(admin()))(t)
	return s
}

func TestTenancy_OtherOrganizationsMessagesAreNotFound(t *testing.T) {
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.deliver(t, f.a1, f.a1.inbox, "Subject: a\r\n\r\na\r\n")
			b := f.deliver(t, f.b1, f.b1.inbox, "Subject: b\r\n\r\nb\r\n")
			before := f.snapshot(t)
			ctxB := orgViewer(f.orgB, viewer.ScopeRead, viewer.ScopeWrite)

			// A's message alone, and mixed with B's own: neither may act.
			for _, req := range [][]pulid.ID{ids(a), ids(b, a)} {
				if err := op.call(ctxB, f, req, f.b1.archive); !ent.IsNotFound(err) {
					t.Errorf("B on %v: err %v, want not found", req, err)
				}
			}
			// B's message into A's mailbox.
			if op.name == "Move" {
				if err := op.call(ctxB, f, ids(b), f.a1.archive); !ent.IsNotFound(err) {
					t.Errorf("B into A's mailbox: err %v, want not found", err)
				}
			}
			if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
				t.Errorf("refused calls changed data (-before +after):\n%s", diff)
			}
			// Positive control: B acts on its own message.
			if err := op.call(ctxB, f, ids(b), f.b1.archive); err != nil {
				t.Errorf("B on its own message: %v", err)
			}
		})
	}
}

func TestTenancy_AccountViewerOnlyItsOwnMessages(t *testing.T) {
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			mine := f.deliver(t, f.a1, f.a1.inbox, "Subject: mine\r\n\r\n1\r\n")
			other := f.deliver(t, f.a2, f.a2.inbox, "Subject: other\r\n\r\n2\r\n")
			before := f.snapshot(t)
			ctx := accountViewer(f.a1)

			if err := op.call(ctx, f, ids(mine, other), f.a1.archive); !ent.IsNotFound(err) {
				t.Errorf("a1 on a2's message: err %v, want not found", err)
			}
			if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
				t.Errorf("refused call changed data (-before +after):\n%s", diff)
			}
			if err := op.call(ctx, f, ids(mine), f.a1.archive); err != nil {
				t.Errorf("a1 on its own message: %v", err)
			}
		})
	}
}

func TestTenancy_WriteScopeRequired(t *testing.T) {
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.deliver(t, f.a1, f.a1.inbox, "Subject: a\r\n\r\na\r\n")
			for _, ctx := range []context.Context{
				orgViewer(f.orgA, viewer.ScopeRead, viewer.ScopeSend, viewer.ScopeKeys),
				context.Background(), // no viewer at all
			} {
				if err := op.call(ctx, f, ids(m), f.a1.archive); !errors.Is(err, privacy.Deny) {
					t.Errorf("err %v, want a privacy denial", err)
				}
			}
		})
	}
}
