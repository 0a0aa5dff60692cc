package sender

import (
	"strings"
	"sync"
	"time"
)

// hostedCache remembers for a few seconds whether a destination domain is
// hosted here, so that a burst of mail to one domain asks the database
// once; a domain added or removed is seen within ttl.
type hostedCache struct {
	ttl time.Duration

	mu      sync.Mutex
	domains map[string]hostedEntry
}

type hostedEntry struct {
	local   bool
	expires time.Time
}

// hostedTTL is how long an answer of hostedCache holds.
const hostedTTL = 5 * time.Second

// maxHosted bounds the entries of a hostedCache; when full, it starts
// over rather than grow with every domain ever mailed.
const maxHosted = 10000

func newHostedCache(ttl time.Duration) *hostedCache {
	return &hostedCache{ttl: ttl, domains: map[string]hostedEntry{}}
}

// get returns the remembered answer for domain, if it is fresh at now.
func (h *hostedCache) get(domain string, now time.Time) (local, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.domains[strings.ToLower(domain)]
	if !ok || !now.Before(e.expires) {
		return false, false
	}
	return e.local, true
}

// put remembers the answer for domain from now on.
func (h *hostedCache) put(domain string, local bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.domains) >= maxHosted {
		clear(h.domains)
	}
	h.domains[strings.ToLower(domain)] = hostedEntry{local: local, expires: now.Add(h.ttl)}
}
