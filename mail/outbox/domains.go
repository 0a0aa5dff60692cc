package outbox

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
)

// SendingDomain is what signing, tracking and routing need of a sending
// domain, as DomainCache read it.
type SendingDomain struct {
	ID   pulid.ID
	Name string
	// Keys are the domain's active DKIM keys, in signing order.
	Keys []dkim.SigningKey
	// TrackOpens and TrackClicks are the domain's tracking defaults, and
	// TrackingHost the host of its tracking links, if it names one.
	TrackOpens, TrackClicks bool
	TrackingHost            string

	keyIDs  string
	expires time.Time
}

// KeyIDs names d's keys, in order: their dkim.SigningKey.ID (selector and
// public key fingerprint), comma-separated, the form that
// OutboundMessage.dkim_selectors stores. A message signed with other keys
// than these is signed again as it is sent.
func (d *SendingDomain) KeyIDs() string { return d.keyIDs }

func keyIDs(keys []dkim.SigningKey) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.ID()
	}
	return strings.Join(s, ",")
}

// DomainCache keeps each sending domain for a short time, so that a burst
// of mail does not re-read and re-parse its keys per message, while a new
// or revoked key, or changed tracking defaults, take effect within its
// time to live. It is safe for concurrent use.
type DomainCache struct {
	client *ent.Client
	ttl    time.Duration

	mu      sync.Mutex
	domains map[pulid.ID]*SendingDomain
}

// DefaultDomainTTL is how long a DomainCache keeps what it read.
const DefaultDomainTTL = time.Minute

// NewDomainCache returns a DomainCache reading through c; ttl <= 0 means
// DefaultDomainTTL.
func NewDomainCache(c *ent.Client, ttl time.Duration) *DomainCache {
	if ttl <= 0 {
		ttl = DefaultDomainTTL
	}
	return &DomainCache{client: c, ttl: ttl, domains: map[pulid.ID]*SendingDomain{}}
}

// Get returns sending domain id. The result is shared: do not change it.
func (k *DomainCache) Get(ctx context.Context, id pulid.ID) (*SendingDomain, error) {
	now := time.Now()
	k.mu.Lock()
	d := k.domains[id]
	k.mu.Unlock()
	if d != nil && now.Before(d.expires) {
		return d, nil
	}
	sys := rule.SystemContext(ctx)
	dom, err := directory.FindDomain(sys, k.client, string(id))
	if err != nil {
		return nil, err
	}
	keys, err := directory.SigningKeys(sys, k.client, string(id))
	if err != nil {
		return nil, err
	}
	d = &SendingDomain{
		ID: dom.ID, Name: dom.Name, Keys: keys,
		TrackOpens: dom.TrackOpens, TrackClicks: dom.TrackClicks, TrackingHost: dom.TrackingHost,
		keyIDs: keyIDs(keys), expires: now.Add(k.ttl),
	}
	k.mu.Lock()
	k.domains[id] = d
	k.mu.Unlock()
	return d, nil
}
