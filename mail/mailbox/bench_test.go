package mailbox_test

import (
	"fmt"
	"testing"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

// BenchmarkMove moves n messages back and forth between two mailboxes,
// one committed transaction per call.
func BenchmarkMove(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFixture(b)
			ms := ids(f.deliverN(b, f.a1, f.a1.inbox, n)...)
			ctx := orgViewer(f.orgA, viewer.ScopeWrite)
			to := []pulid.ID{f.a1.archive, f.a1.inbox}
			for i := 0; b.Loop(); i++ {
				if _, err := mailbox.Move(ctx, f.c, nil, ms, to[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMark toggles \Seen on n messages, one transaction per call.
func BenchmarkMark(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFixture(b)
			ms := ids(f.deliverN(b, f.a1, f.a1.inbox, n)...)
			ctx := orgViewer(f.orgA, viewer.ScopeWrite)
			for i := 0; b.Loop(); i++ {
				if _, err := mailbox.Mark(ctx, f.c, nil, ms, mailbox.Flags{Seen: ptr(i%2 == 0)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
