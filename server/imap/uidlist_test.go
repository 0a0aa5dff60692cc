package imap

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestUIDList_AgainstSlice checks uidList against a plain sorted slice
// through a random sequence of appends and removals.
func TestUIDList_AgainstSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var l uidList
	var want []imap.UID
	next := imap.UID(1)
	for step := range 5000 {
		if len(want) == 0 || r.IntN(3) > 0 {
			next += imap.UID(1 + r.IntN(2)*r.IntN(5))
			l.Append(next)
			want = append(want, next)
		} else {
			i := r.IntN(len(want))
			if got := l.Remove(want[i]); got != uint32(i+1) {
				t.Fatalf("step %d: Remove(%d) = %d, want %d", step, want[i], got, i+1)
			}
			want = slices.Delete(want, i, i+1)
		}
		if l.Len() != uint32(len(want)) {
			t.Fatalf("step %d: Len %d, want %d", step, l.Len(), len(want))
		}
		if step%97 == 0 {
			for i, u := range want {
				if l.At(uint32(i+1)) != u || l.Seq(u) != uint32(i+1) {
					t.Fatalf("step %d: seq %d: At %d Seq %d, want uid %d", step, i+1, l.At(uint32(i+1)), l.Seq(u), u)
				}
			}
			if !slices.Equal(l.All(), want) {
				t.Fatalf("step %d: All differs", step)
			}
		}
	}
	if l.At(0) != 0 || l.At(l.Len()+1) != 0 || l.Seq(next+1) != 0 || l.Remove(next+1) != 0 {
		t.Fatal("out-of-range lookups must return 0")
	}
}
