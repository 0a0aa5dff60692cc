package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/deliveryattempt"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/outbound"
)

func TestClaim_GroupsByMessageAndDomain(t *testing.T) {
	f := newFixture(t)
	msgs := f.queue(t, 2, "a@one.example", "b@one.example", "c@two.example")

	units := f.claim(t, "w1", f.t0, 10, 0)
	if len(units) != 4 {
		t.Fatalf("claimed %d units, want 4 (2 messages x 2 domains)", len(units))
	}
	seen := map[string]int{}
	for _, u := range units {
		seen[key(u)] = len(u.Recipients)
		if u.Owner != "w1" || !u.LeaseUntil.Equal(f.t0.Add(time.Hour)) {
			t.Errorf("%s: lease %s until %v", key(u), u.Owner, u.LeaseUntil)
		}
		if u.MailFrom != "sender@a.example" || u.OrgID != f.org || u.QueuedAt.IsZero() {
			t.Errorf("%s: message fields %+v", key(u), u)
		}
		for _, r := range u.Recipients {
			if got := f.recipient(t, r.ID); got.LeaseOwner != "w1" || got.LeaseUntil == nil {
				t.Errorf("%s not leased: %q %v", r.Address, got.LeaseOwner, got.LeaseUntil)
			}
		}
	}
	for _, m := range msgs {
		if seen[string(m)+"/one.example"] != 2 || seen[string(m)+"/two.example"] != 1 {
			t.Errorf("message %s: units %v", m, seen)
		}
	}

	// While the leases hold, nobody else gets anything.
	if again := f.claim(t, "w2", f.t0.Add(59*time.Minute), 10, 0); len(again) != 0 {
		t.Errorf("second claim got %d units while leased", len(again))
	}
}

func TestClaim_Limit(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 5, "a@one.example")
	if got := f.claim(t, "w1", f.t0, 3, 0); len(got) != 3 {
		t.Errorf("first claim: %d units, want 3", len(got))
	}
	if got := f.claim(t, "w2", f.t0, 3, 0); len(got) != 2 {
		t.Errorf("second claim: %d units, want the 2 left", len(got))
	}
}

func TestClaim_ConcurrentClaimersNeverShare(t *testing.T) {
	f := newFixture(t)
	// 50 messages x 4 recipients = 200 rows in 100 units.
	f.queue(t, 50, "a@one.example", "b@one.example", "c@two.example", "d@two.example")

	var mu sync.Mutex
	claims := map[string][]string{}
	rows := 0
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		owner := string(rune('A' + w))
		wg.Go(func() {
			for {
				units, err := queue.Claim(context.Background(), f.c, owner, f.t0, time.Hour, 3, 0)
				if err != nil {
					errs <- err
					return
				}
				if len(units) == 0 {
					return
				}
				mu.Lock()
				for _, u := range units {
					claims[key(u)] = append(claims[key(u)], owner)
					rows += len(u.Recipients)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(claims) != 100 || rows != 200 {
		t.Errorf("claimed %d units with %d rows, want 100 and 200", len(claims), rows)
	}
	for k, owners := range claims {
		if len(owners) != 1 {
			t.Errorf("unit %s claimed by %v", k, owners)
		}
	}
}

func TestClaim_ExpiredLeaseIsTakenOver(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	first := f.claim(t, "w1", f.t0, 10, 0)

	later := f.t0.Add(time.Hour + time.Second)
	second := f.claim(t, "w2", later, 10, 0)
	if len(second) != 1 || key(second[0]) != key(first[0]) {
		t.Fatalf("after expiry w2 claimed %v, want the unit of w1", second)
	}

	// w1 finishes late: its lease is gone, so nothing it says is recorded.
	_, err := queue.Complete(context.Background(), f.c, &first[0],
		results(&first[0], outbound.StatusDelivered), later, queue.Policy{Rand: half})
	if !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("Complete with a lost lease: %v, want ErrLeaseLost", err)
	}
	if err := queue.Release(context.Background(), f.c, &first[0]); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Release with a lost lease: %v, want ErrLeaseLost", err)
	}
	r := f.recipient(t, first[0].Recipients[0].ID)
	if r.Status != outboundrecipient.StatusQueued || r.Attempts != 0 || r.LeaseOwner != "w2" {
		t.Errorf("after lost lease: status %s attempts %d owner %q", r.Status, r.Attempts, r.LeaseOwner)
	}
	if n := f.c.DeliveryAttempt.Query().CountX(f.admin); n != 0 {
		t.Errorf("%d attempts logged, want 0", n)
	}
}

func TestClaim_SameOwnerReclaimLosesOldLease(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	first := f.claim(t, "w1", f.t0, 10, 0)
	f.claim(t, "w1", f.t0.Add(2*time.Hour), 10, 0)
	_, err := queue.Complete(context.Background(), f.c, &first[0],
		results(&first[0], outbound.StatusDelivered), f.t0.Add(2*time.Hour), queue.Policy{})
	if !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Complete of a superseded claim: %v, want ErrLeaseLost", err)
	}
}

func TestClaim_PerDomainCap(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 5, "a@one.example", "b@two.example")

	got := map[string]int{}
	for _, u := range f.claim(t, "w1", f.t0, 100, 2) {
		got[u.Domain]++
	}
	if got["one.example"] != 2 || got["two.example"] != 2 {
		t.Fatalf("first claim per domain: %v, want 2 each", got)
	}
	// The cap counts every owner's leases.
	if more := f.claim(t, "w2", f.t0, 100, 3); len(more) != 2 {
		t.Errorf("second claim with cap 3: %d units, want 1 per domain", len(more))
	}
	if more := f.claim(t, "w3", f.t0, 100, 3); len(more) != 0 {
		t.Errorf("third claim with cap 3: %d units, want 0", len(more))
	}
}

func TestComplete_Outcomes(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "ok@one.example", "later@one.example", "gone@one.example", "bad@one.example")
	u := f.claim(t, "w1", f.t0, 10, 0)[0]

	now := f.t0.Add(10 * time.Second)
	res := results(&u, outbound.StatusDelivered)
	res[1] = results(&u, outbound.StatusDeferred)[1]
	res[2] = results(&u, outbound.StatusBounced)[2]
	res[3].Status, res[3].Code, res[3].EnhancedCode = outbound.StatusFailed, 0, "5.1.3"
	failures, err := queue.Complete(context.Background(), f.c, &u, res, now, queue.Policy{Rand: half})
	check(t, err)

	if len(failures) != 2 || failures[0].Recipient.Address != "gone@one.example" ||
		failures[0].Status != outbound.StatusBounced || failures[1].Status != outbound.StatusFailed {
		t.Errorf("failures %+v, want gone bounced and bad failed", failures)
	}
	want := []outboundrecipient.Status{outboundrecipient.StatusDelivered, outboundrecipient.StatusDeferred,
		outboundrecipient.StatusBounced, outboundrecipient.StatusFailed}
	for i, rc := range u.Recipients {
		r := f.recipient(t, rc.ID)
		if r.Status != want[i] || r.Attempts != 1 || r.LeaseOwner != "" || r.LeaseUntil != nil {
			t.Errorf("%s: status %s attempts %d lease %q %v", r.Address, r.Status, r.Attempts,
				r.LeaseOwner, r.LeaseUntil)
		}
		if r.RemoteMx != "mx.one.example" {
			t.Errorf("%s: remote_mx %q", r.Address, r.RemoteMx)
		}
	}
	deferred := f.recipient(t, u.Recipients[1].ID)
	if deferred.NextAttemptAt == nil || !deferred.NextAttemptAt.Equal(now.Add(time.Minute)) {
		t.Errorf("next attempt %v, want %v", deferred.NextAttemptAt, now.Add(time.Minute))
	}
	if deferred.LastError != "451 4.3.0 try later" {
		t.Errorf("last_error %q", deferred.LastError)
	}
	atts := f.c.DeliveryAttempt.Query().Order(deliveryattempt.ByRecipientID()).AllX(f.admin)
	if len(atts) != 4 {
		t.Fatalf("%d attempts logged, want 4", len(atts))
	}
	for _, a := range atts {
		if a.OrganizationID != f.org {
			t.Errorf("attempt in organization %s", a.OrganizationID)
		}
	}
}

func TestComplete_DeferralFollowsSchedule(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example", "b@one.example")
	p := queue.Policy{Rand: func() float64 { return 0 }} // the shortest delay: -20%

	now := f.t0
	for attempt, want := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
		units := f.claim(t, "w1", now, 10, 0)
		if len(units) != 1 || len(units[0].Recipients) != 2 || units[0].Attempts != attempt {
			t.Fatalf("attempt %d: claimed %+v", attempt+1, units)
		}
		_, err := queue.Complete(context.Background(), f.c, &units[0],
			results(&units[0], outbound.StatusDeferred), now, p)
		check(t, err)

		next := now.Add(want * 8 / 10)
		for _, rc := range units[0].Recipients {
			r := f.recipient(t, rc.ID)
			if r.Attempts != attempt+1 || r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(next) {
				t.Fatalf("attempt %d: attempts %d next %v, want %d and %v",
					attempt+1, r.Attempts, r.NextAttemptAt, attempt+1, next)
			}
		}
		// Not due a moment before, due at the instant.
		if early := f.claim(t, "w1", next.Add(-time.Millisecond), 10, 0); len(early) != 0 {
			t.Fatalf("attempt %d: claimed before next_attempt_at", attempt+1)
		}
		now = next
	}
}

func TestComplete_MaxAgeFails(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	u := f.claim(t, "w1", f.t0, 10, 0)[0]

	late := u.QueuedAt.Add(queue.DefaultMaxAge + time.Second)
	failures, err := queue.Complete(context.Background(), f.c, &u,
		results(&u, outbound.StatusDeferred), late, queue.Policy{Rand: half})
	check(t, err)
	if len(failures) != 1 || !failures[0].Expired || failures[0].Status != outbound.StatusFailed {
		t.Fatalf("failures %+v, want one expired failure", failures)
	}
	r := f.recipient(t, u.Recipients[0].ID)
	if r.Status != outboundrecipient.StatusFailed || r.NextAttemptAt != nil {
		t.Errorf("status %s next %v, want failed and no next attempt", r.Status, r.NextAttemptAt)
	}
	a := f.c.DeliveryAttempt.Query().OnlyX(f.admin)
	if a.Result != deliveryattempt.ResultDeferred {
		t.Errorf("attempt result %s, want what happened: deferred", a.Result)
	}

	// A shorter MaxAge from the policy applies too.
	f.queue(t, 1, "b@one.example")
	u = f.claim(t, "w1", f.t0, 10, 0)[0]
	failures, err = queue.Complete(context.Background(), f.c, &u,
		results(&u, outbound.StatusDeferred), u.QueuedAt.Add(2*time.Hour),
		queue.Policy{MaxAge: time.Hour, Rand: half})
	check(t, err)
	if len(failures) != 1 {
		t.Errorf("with MaxAge 1h: %d failures, want 1", len(failures))
	}
}

func TestComplete_CanceledInFlightStaysCanceled(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	u := f.claim(t, "w1", f.t0, 10, 0)[0]
	check(t, f.c.OutboundRecipient.UpdateOneID(u.Recipients[0].ID).
		SetStatus(outboundrecipient.StatusCanceled).Exec(f.admin))

	failures, err := queue.Complete(context.Background(), f.c, &u,
		results(&u, outbound.StatusBounced), f.t0, queue.Policy{})
	check(t, err)
	if len(failures) != 0 {
		t.Errorf("failures %+v for a canceled recipient", failures)
	}
	if r := f.recipient(t, u.Recipients[0].ID); r.Status != outboundrecipient.StatusCanceled {
		t.Errorf("status %s, want canceled", r.Status)
	}
}

func TestComplete_ResultsMustMatch(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	u := f.claim(t, "w1", f.t0, 10, 0)[0]
	res := results(&u, outbound.StatusDelivered)
	res[0].Address = "other@one.example"
	if _, err := queue.Complete(context.Background(), f.c, &u, res, f.t0, queue.Policy{}); err == nil {
		t.Error("Complete accepted a result for another address")
	}
	if _, err := queue.Complete(context.Background(), f.c, &u, nil, f.t0, queue.Policy{}); err == nil {
		t.Error("Complete accepted no results")
	}
}

func TestRelease(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1, "a@one.example")
	u := f.claim(t, "w1", f.t0, 10, 0)[0]
	check(t, queue.Release(context.Background(), f.c, &u))

	r := f.recipient(t, u.Recipients[0].ID)
	if r.Attempts != 0 || r.LeaseOwner != "" || r.LeaseUntil != nil || r.Status != outboundrecipient.StatusQueued {
		t.Errorf("after release: %+v", r)
	}
	if again := f.claim(t, "w2", f.t0, 10, 0); len(again) != 1 {
		t.Errorf("released unit not claimable: %d units", len(again))
	}
	if err := queue.Release(context.Background(), f.c, &u); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("second Release: %v, want ErrLeaseLost", err)
	}
}

// TestRecover_FreesOnlyTheNodesOldLeases: a restarted node frees the
// leases of its earlier run, not its own current ones nor another node's.
func TestRecover_FreesOnlyTheNodesOldLeases(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 3, "a@one.example")
	old := f.claim(t, "n1/old", f.t0, 1, 0)
	cur := f.claim(t, "n1/new", f.t0, 1, 0)
	other := f.claim(t, "n2/x", f.t0, 1, 0)
	n, err := queue.Recover(context.Background(), f.c, "n1", "n1/new")
	check(t, err)
	if n != 1 {
		t.Fatalf("Recover freed %d recipients, want 1", n)
	}
	for _, c := range []struct {
		u     queue.Unit
		owner string
	}{{old[0], ""}, {cur[0], "n1/new"}, {other[0], "n2/x"}} {
		if got := f.recipient(t, c.u.Recipients[0].ID).LeaseOwner; got != c.owner {
			t.Errorf("lease of %s: %q, want %q", c.u.Owner, got, c.owner)
		}
	}
}
