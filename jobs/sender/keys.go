package sender

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
)

// sendingDomain is what signing and routing need of a sending domain.
type sendingDomain struct {
	name string
	keys []dkim.SigningKey
	// trackingHost is the host of the domain's tracking links, if it
	// names one.
	trackingHost string
	expires      time.Time
}

// keyCache keeps each sending domain's name and keys for a short time, so
// that a burst of mail does not re-read and re-parse the keys per message,
// while a new or revoked key takes effect within ttl.
type keyCache struct {
	client *ent.Client
	ttl    time.Duration

	mu      sync.Mutex
	domains map[pulid.ID]*sendingDomain
}

func newKeyCache(c *ent.Client, ttl time.Duration) *keyCache {
	return &keyCache{client: c, ttl: ttl, domains: map[pulid.ID]*sendingDomain{}}
}

// get returns the domain id's name and active signing keys.
func (k *keyCache) get(ctx context.Context, id pulid.ID) (*sendingDomain, error) {
	now := time.Now()
	k.mu.Lock()
	d := k.domains[id]
	k.mu.Unlock()
	if d != nil && now.Before(d.expires) {
		return d, nil
	}
	dom, err := directory.FindDomain(ctx, k.client, string(id))
	if err != nil {
		return nil, err
	}
	keys, err := directory.SigningKeys(ctx, k.client, string(id))
	if err != nil {
		return nil, err
	}
	d = &sendingDomain{name: dom.Name, keys: keys, trackingHost: dom.TrackingHost, expires: now.Add(k.ttl)}
	k.mu.Lock()
	k.domains[id] = d
	k.mu.Unlock()
	return d, nil
}

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
