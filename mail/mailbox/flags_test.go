package mailbox_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

func TestSetFlags_Operations(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	ctx := accountViewer(f.a1)
	tests := []struct {
		op   mailbox.FlagOp
		set  mailbox.FlagSet
		want mailbox.FlagSet
	}{
		{mailbox.FlagsAdd, mailbox.FlagSet{Seen: true, Keywords: []string{"Work"}},
			mailbox.FlagSet{Seen: true, Keywords: []string{"Work"}}},
		{mailbox.FlagsAdd, mailbox.FlagSet{Flagged: true, Keywords: []string{"work", "$Later"}},
			mailbox.FlagSet{Seen: true, Flagged: true, Keywords: []string{"Work", "$Later"}}},
		{mailbox.FlagsRemove, mailbox.FlagSet{Seen: true, Keywords: []string{"WORK"}},
			mailbox.FlagSet{Flagged: true, Keywords: []string{"$Later"}}},
		{mailbox.FlagsReplace, mailbox.FlagSet{Draft: true, Deleted: true, Keywords: []string{"a", "A"}},
			mailbox.FlagSet{Draft: true, Deleted: true, Keywords: []string{"a"}}},
		{mailbox.FlagsReplace, mailbox.FlagSet{}, mailbox.FlagSet{}},
	}
	for i, tt := range tests {
		before := f.mailbox(t, f.a1.inbox).HighestModseq
		got, err := mailbox.SetFlags(ctx, f.c, nil, ids(m), tt.op, tt.set)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if have := mailbox.FlagsOf(got[0]); !have.Equal(tt.want) || !slices.Equal(have.Keywords, tt.want.Keywords) {
			t.Errorf("step %d: %+v, want %+v", i, have, tt.want)
		}
		after := f.mailbox(t, f.a1.inbox)
		if after.HighestModseq != before+1 || got[0].Modseq != after.HighestModseq {
			t.Errorf("step %d: modseq %d -> %d, message %d", i, before, after.HighestModseq, got[0].Modseq)
		}
	}

	// No change, no new mod-sequence.
	before := f.mailbox(t, f.a1.inbox).HighestModseq
	if _, err := mailbox.SetFlags(ctx, f.c, nil, ids(m), mailbox.FlagsRemove,
		mailbox.FlagSet{Seen: true}); err != nil {
		t.Fatal(err)
	}
	if f.mailbox(t, f.a1.inbox).HighestModseq != before {
		t.Error("a no-op SetFlags moved the mod-sequence")
	}
}

func TestSetFlags_KeywordValidation(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a1, f.a1.inbox, "Subject: x\r\n\r\nx\r\n")
	ctx := accountViewer(f.a1)
	many := make([]string, mailbox.MaxKeywords+1)
	for i := range many {
		many[i] = "k" + strings.Repeat("x", i)
	}
	for name, kws := range map[string][]string{
		"empty": {""}, "space": {"a b"}, "paren": {"a(b"}, "wildcard": {"a*"}, "quote": {`a"b`},
		"backslash": {`\Seen`}, "bracket": {"a]"}, "control": {"a\x01"}, "non-ascii": {"café"},
		"too long": {strings.Repeat("k", mailbox.MaxKeywordLen+1)}, "too many": many,
	} {
		_, err := mailbox.SetFlags(ctx, f.c, nil, ids(m), mailbox.FlagsAdd, mailbox.FlagSet{Keywords: kws})
		var inputErr *directory.InputError
		if !errors.As(err, &inputErr) {
			t.Errorf("%s: err %v, want an input error", name, err)
		}
	}
	if _, err := mailbox.SetFlags(ctx, f.c, nil, ids(m), mailbox.FlagsAdd,
		mailbox.FlagSet{Keywords: []string{"$Ok-1_x.y", strings.Repeat("k", mailbox.MaxKeywordLen)}}); err != nil {
		t.Errorf("valid keywords: %v", err)
	}

	// Adding past MaxKeywords in total is refused too, and nothing changes.
	some := many[:mailbox.MaxKeywords-1] // with the 2 above, one too many
	_, err := mailbox.SetFlags(ctx, f.c, nil, ids(m), mailbox.FlagsAdd, mailbox.FlagSet{Keywords: some})
	var inputErr *directory.InputError
	if !errors.As(err, &inputErr) {
		t.Errorf("%d keywords in all: err %v", len(some)+2, err)
	}
	if got := f.message(t, m.ID).Keywords; len(got) != 2 {
		t.Errorf("a refused SetFlags left keywords %q", got)
	}
}

func TestSetFlags_OtherAccountNotFound(t *testing.T) {
	f := newFixture(t)
	m := f.deliver(t, f.a2, f.a2.inbox, "Subject: x\r\n\r\nx\r\n")
	_, err := mailbox.SetFlags(accountViewer(f.a1), f.c, nil, ids(m), mailbox.FlagsAdd, mailbox.FlagSet{Seen: true})
	if err == nil || f.message(t, m.ID).Seen {
		t.Errorf("another account's message: err %v", err)
	}
}
