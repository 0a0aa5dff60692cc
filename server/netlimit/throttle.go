package netlimit

import (
	"sync"
	"time"
)

// Throttle counts failed logins per key (a client address, a user name)
// over a sliding window, so that password guessing stops after a few
// tries from one address or against one user, whatever the other. IMAP
// LOGIN and SMTP AUTH use it alike. It is safe for concurrent use.
type Throttle struct {
	max    int
	window time.Duration
	// Now returns the current time; tests may replace it before use.
	Now func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// maxThrottleKeys bounds the memory of the counters: past it, the oldest
// knowledge is dropped wholesale, which only ever lets a client try again
// sooner.
const maxThrottleKeys = 100_000

// NewThrottle returns a Throttle that blocks a key after max failures
// within window; max <= 0 never blocks.
func NewThrottle(max int, window time.Duration) *Throttle {
	return &Throttle{max: max, window: window, Now: time.Now, fails: map[string][]time.Time{}}
}

// Blocked reports whether key has failed max times within the window.
func (t *Throttle) Blocked(key string) bool {
	if t.max <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recent(key)) >= t.max
}

// Fail records a failure of key.
func (t *Throttle) Fail(key string) {
	if t.max <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) >= maxThrottleKeys {
		clear(t.fails)
	}
	t.fails[key] = append(t.recent(key), t.Now())
}

// Reset forgets key's failures after a successful login.
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, key)
}

// recent returns key's failures within the window, dropping older ones.
// t.mu must be held.
func (t *Throttle) recent(key string) []time.Time {
	fs := t.fails[key]
	cut := t.Now().Add(-t.window)
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
