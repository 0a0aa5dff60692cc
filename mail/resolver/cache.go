package resolver

import (
	"container/list"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds on how long an answer is kept. A zone can publish any TTL; the caps
// keep a mistaken or hostile record from pinning an answer for days, and
// RFC 2308 §5 suggests a few hours at most for negative answers.
const (
	maxPositiveTTL  = time.Hour
	maxNegativeTTL  = 15 * time.Minute
	defaultNegative = 60 * time.Second
)

// answer is the outcome of one question, as cached: the records of the type
// asked for (after following CNAMEs), or a negative answer.
type answer struct {
	rrs    []dns.RR
	cause  error  // nil, ErrNXDomain or ErrNoData
	server string // which server answered, for error messages
}

// cacheKey identifies a question: the lower-cased absolute name and the type.
type cacheKey struct {
	name  string
	qtype uint16
}

// cacheEntry is an answer with its expiry and its place in the eviction
// order.
type cacheEntry struct {
	key     cacheKey
	ans     answer
	expires time.Time
	elem    *list.Element
}

// cache is a bounded map of answers that expire. Entries are evicted oldest
// first (in the order they were stored), which is cheap and, with TTLs of
// minutes, close enough to least recently used. It is safe for concurrent
// use.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]*cacheEntry
	order   *list.List // of *cacheEntry, oldest at the front
}

// newCache returns a cache of at most max entries; max must be positive.
func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[cacheKey]*cacheEntry), order: list.New()}
}

// get returns the answer for k if there is one that has not expired at now.
func (c *cache) get(k cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	e, ok := c.entries[k]
	if !ok {
		return answer{}, false
	}
	if !now.Before(e.expires) {
		c.remove(e)
		return answer{}, false
	}
	return e.ans, true
}

// put stores a for ttl from now, replacing any older answer for k and
// evicting the oldest entries beyond the bound. A ttl of zero or less is not
// stored: the zone asked not to be cached (RFC 1035 §3.2.1).
func (c *cache) put(k cacheKey, a answer, ttl time.Duration, now time.Time) {
	if ttl <= 0 {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	if old, ok := c.entries[k]; ok {
		c.remove(old)
	}
	e := &cacheEntry{key: k, ans: a, expires: now.Add(ttl)}
	e.elem = c.order.PushBack(e)
	c.entries[k] = e

	for c.order.Len() > c.max {
		c.remove(c.order.Front().Value.(*cacheEntry))
	}
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// remove drops e; the caller holds c.mu.
func (c *cache) remove(e *cacheEntry) {
	c.order.Remove(e.elem)
	delete(c.entries, e.key)
}

// positiveTTL is how long an answer made of the record sets may be cached: the smallest
// TTL among them (RFC 2181 §5.2 gives all records of a set one TTL; a CNAME
// chain is only as fresh as its shortest link), capped at maxPositiveTTL.
func positiveTTL(sets ...[]dns.RR) time.Duration {
	ttl := maxPositiveTTL
	for _, rrs := range sets {
		for _, rr := range rrs {
			if d := time.Duration(rr.Header().Ttl) * time.Second; d < ttl {
				ttl = d
			}
		}
	}
	return ttl
}

// negativeTTL is how long a negative answer may be cached: the smaller of the
// SOA record's own TTL and its MINIMUM field (RFC 2308 §5), capped at
// maxNegativeTTL, or defaultNegative when the server sent no SOA.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		soa, ok := rr.(*dns.SOA)
		if !ok {
			continue
		}
		ttl := min(soa.Hdr.Ttl, soa.Minttl)
		return min(time.Duration(ttl)*time.Second, maxNegativeTTL)
	}
	return defaultNegative
}
