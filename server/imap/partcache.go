package imap

import (
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	parsed "github.com/lightr-mail/lightr/mail/message"
)

// partCacheBytes bounds the memory of the decoded structures that FETCH
// keeps, about 40,000 messages' worth.
const partCacheBytes = 64 << 20

// partCache keeps, for recently fetched messages, the envelope and body
// structure decoded from their JSON columns and rendered for go-imap:
// decoding them was most of FETCH ENVELOPE BODYSTRUCTURE's work, and
// clients ask for the same messages again at every sync
// (docs/PERFORMANCE.md, "IMAP vs Dovecot"). Entries are keyed by blob: a
// blob's bytes never change (it is named by their SHA-256, per
// organization), so neither does what is derived from them, and no entry
// needs invalidating. Every session of the server shares the cache; it
// serves only rows that the session's own query, under the privacy
// rules, has already returned.
//
// The values are shared and must not be modified.
type partCache struct {
	mu    sync.Mutex
	max   int // estimated bytes
	size  int
	items map[pulid.ID]*cachedParts
}

type cachedParts struct {
	root *parsed.Part
	env  *imap.Envelope
	bs   imap.BodyStructure
	cost int
}

func newPartCache(max int) *partCache {
	return &partCache{max: max, items: map[pulid.ID]*cachedParts{}}
}

// get returns what is cached for blob; the fields may be nil.
func (c *partCache) get(blob pulid.ID) cachedParts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.items[blob]; e != nil {
		return *e
	}
	return cachedParts{}
}

// put records what the caller computed for blob (nil fields leave what
// is there). cost estimates the memory of a full entry.
func (c *partCache) put(blob pulid.ID, cost int, v cachedParts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.items[blob]
	if e == nil {
		e = &cachedParts{cost: cost}
		c.items[blob] = e
		c.size += cost
	}
	if v.root != nil {
		e.root = v.root
	}
	if v.env != nil {
		e.env = v.env
	}
	if v.bs != nil {
		e.bs = v.bs
	}
	if c.size > c.max {
		c.evict()
	}
}

// evict drops entries, in the map's arbitrary order, until a quarter of
// the room is free: cheaper than tracking use, and a FETCH 1:* of a
// mailbox larger than the cache, the pattern that defeats LRU, keeps
// a part of its entries rather than none.
func (c *partCache) evict() {
	for k, e := range c.items {
		if c.size <= c.max*3/4 {
			return
		}
		delete(c.items, k)
		c.size -= e.cost
	}
}
