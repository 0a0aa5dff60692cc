package notify

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// TestClose_LeavesNothing closes subscriptions in a random order and
// checks the hub's index stays consistent and ends empty.
func TestClose_LeavesNothing(t *testing.T) {
	h := New()
	var all []*Subscription
	for i := range 300 {
		all = append(all, h.Subscribe(pulid.ID(fmt.Sprintf("mbx_%d", i%7))))
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for n, s := range all {
		s.Close()
		for id, subs := range h.subs {
			for i, x := range subs {
				if x.i != i || x.id != id {
					t.Fatalf("after %d closes: %s[%d] has index %d, id %s", n+1, id, i, x.i, x.id)
				}
			}
		}
	}
	if len(h.subs) != 0 {
		t.Errorf("%d ids left in the hub after every subscription closed", len(h.subs))
	}
}
