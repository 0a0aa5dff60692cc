package netlimit_test

import (
	"testing"
	"time"

	"github.com/lightr-mail/lightr/server/netlimit"
)

func TestThrottle_BlocksWithinWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	th := netlimit.NewThrottle(3, time.Minute)
	th.Now = func() time.Time { return now }

	for range 2 {
		th.Fail("ip:192.0.2.1")
	}
	if th.Blocked("ip:192.0.2.1") {
		t.Fatal("blocked after 2 failures of 3")
	}
	th.Fail("ip:192.0.2.1")
	if !th.Blocked("ip:192.0.2.1") {
		t.Fatal("not blocked after 3 failures")
	}
	if th.Blocked("ip:192.0.2.2") {
		t.Fatal("another key blocked")
	}

	// The failures age out of the window, and a success forgets them.
	now = now.Add(61 * time.Second)
	if th.Blocked("ip:192.0.2.1") {
		t.Fatal("still blocked after the window")
	}
	th.Fail("user:a")
	th.Fail("user:a")
	th.Fail("user:a")
	th.Reset("user:a")
	if th.Blocked("user:a") {
		t.Fatal("blocked after Reset")
	}
}

func TestThrottle_ZeroMaxNeverBlocks(t *testing.T) {
	th := netlimit.NewThrottle(0, time.Minute)
	for range 10 {
		th.Fail("k")
	}
	if th.Blocked("k") {
		t.Fatal("blocked with max 0")
	}
}
