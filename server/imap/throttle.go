package imap

import (
	"sync"
	"time"
)

// throttle counts failed logins per key (a client address, an account)
// over a sliding window, so that password guessing stops after a few
// tries from one address or against one account, whatever the other.
type throttle struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// maxThrottleKeys bounds the memory of the counters: past it, the oldest
// knowledge is dropped wholesale, which only ever lets a client try again
// sooner.
const maxThrottleKeys = 100_000

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, now: time.Now, fails: map[string][]time.Time{}}
}

// blocked reports whether key has failed max times within the window.
func (t *throttle) blocked(key string) bool {
	if t.max <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recent(key)) >= t.max
}

// fail records a failure of key.
func (t *throttle) fail(key string) {
	if t.max <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) >= maxThrottleKeys {
		clear(t.fails)
	}
	t.fails[key] = append(t.recent(key), t.now())
}

// reset forgets key's failures after a successful login.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

// recent returns key's failures within the window, dropping older ones.
// t.mu must be held.
func (t *throttle) recent(key string) []time.Time {
	fs := t.fails[key]
	cut := t.now().Add(-t.window)
	i := 0
	for i < len(fs) && fs[i].Before(cut) {
		i++
	}
	if i == len(fs) {
		delete(t.fails, key)
		return nil
	}
	fs = fs[i:]
	t.fails[key] = fs
	return fs
}
