package mailbox_test

import (
	"errors"
	"fmt"
	"testing"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestMark_SetsFlagsAndModseq(t *testing.T) {
	f := newFixture(t)
	ms := f.deliverN(t, f.a1, f.a1.inbox, 3)
	before := f.mailbox(t, f.a1.inbox).HighestModseq
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)

	got, err := mailbox.Mark(ctx, f.c, nil, ids(ms[0], ms[1]), mailbox.Flags{Seen: ptr(true), Flagged: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	mod := f.mailbox(t, f.a1.inbox).HighestModseq
	if mod != before+1 {
		t.Errorf("highest modseq %d -> %d, want one step", before, mod)
	}
	if len(got) != 2 || got[0].ID != ms[0].ID || got[1].ID != ms[1].ID {
		t.Fatalf("returned %v, want the two marked messages in order", got)
	}
	for _, m := range got {
		if !m.Seen || !m.Flagged || m.Answered || m.Modseq != mod {
			t.Errorf("%s: seen %v flagged %v answered %v modseq %d; want seen, flagged, modseq %d",
				m.ID, m.Seen, m.Flagged, m.Answered, m.Modseq, mod)
		}
	}
	if m := f.message(t, ms[2].ID); m.Seen || m.Modseq == mod {
		t.Errorf("unmarked message changed: seen %v modseq %d", m.Seen, m.Modseq)
	}

	// Marking again changes nothing, so the mod-sequences stay.
	if _, err := mailbox.Mark(ctx, f.c, nil, ids(ms[0]), mailbox.Flags{Seen: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if again := f.mailbox(t, f.a1.inbox).HighestModseq; again != mod {
		t.Errorf("a no-op mark moved highest modseq %d -> %d", mod, again)
	}

	// Clearing one flag leaves the others.
	got, err = mailbox.Mark(ctx, f.c, nil, ids(ms[0]), mailbox.Flags{Seen: ptr(false), Answered: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if m := got[0]; m.Seen || !m.Flagged || !m.Answered || m.Modseq != mod+1 {
		t.Errorf("after clearing seen: %+v", m)
	}
}

func TestMark_BadInput(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	ctx := orgViewer(f.orgA, viewer.ScopeWrite)
	var inputErr *directory.InputError

	if _, err := mailbox.Mark(ctx, f.c, nil, ids(m), mailbox.Flags{}); !errors.As(err, &inputErr) {
		t.Errorf("no flags: err %v, want an input error", err)
	}
	many := make([]pulid.ID, mailbox.MaxIDs+1)
	for i := range many {
		many[i] = pulid.ID(fmt.Sprintf("msg_%d", i))
	}
	if _, err := mailbox.Mark(ctx, f.c, nil, many, mailbox.Flags{Seen: ptr(true)}); !errors.As(err, &inputErr) {
		t.Errorf("%d ids: err %v, want an input error", len(many), err)
	}

	// Duplicates count once.
	got, err := mailbox.Mark(ctx, f.c, nil, ids(m, m), mailbox.Flags{Seen: ptr(true)})
	if err != nil || len(got) != 1 {
		t.Errorf("duplicate ids: %v, %v; want the message once", got, err)
	}
}

func TestMark_NeedsWriteScope(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	_, err := mailbox.Mark(orgViewer(f.orgA, viewer.ScopeRead), f.c, nil, ids(m),
		mailbox.Flags{Seen: ptr(true)})
	if !errors.Is(err, privacy.Deny) {
		t.Errorf("read-only viewer: err %v, want a privacy denial", err)
	}
	if f.message(t, m.ID).Seen {
		t.Error("a read-only viewer marked a message")
	}
}
