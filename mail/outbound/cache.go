package outbound

import (
	"context"
	"sync"
	"time"
)

// Defaults of the connection cache.
const (
	DefaultCacheIdle   = 2 * time.Second
	DefaultMaxReuse    = 100
	DefaultMaxConnLife = 5 * time.Minute
)

// connCache keeps sessions that ended a transaction cleanly, for the next
// message to the same address, as Postfix's connection cache does: a busy
// destination then costs one TCP connection, greeting, EHLO, STARTTLS and
// AUTH per many messages instead of per message. A cached session is
// checked with RSET before it is used again, so a server that closed it in
// the meantime costs one round trip, not a delivery attempt.
type connCache struct {
	idle     time.Duration
	maxReuse int
	maxLife  time.Duration

	mu     sync.Mutex
	idleBy map[string][]*cached
	closed bool
}

// cached is a session waiting in the cache.
type cached struct {
	s     *session
	timer *time.Timer // closes it after the idle time
}

func newConnCache(idle time.Duration, maxReuse int, maxLife time.Duration) *connCache {
	if idle < 0 {
		return nil
	}
	return &connCache{
		idle:     orDefault(idle, DefaultCacheIdle),
		maxReuse: maxReuse,
		maxLife:  orDefault(maxLife, DefaultMaxConnLife),
		idleBy:   map[string][]*cached{},
	}
}

// key names the sessions that may carry a job's transaction: the same
// address of the same host. The TLS state travels with the session.
func cacheKey(host, hostport string) string { return host + " " + hostport }

// take returns a live cached session for key, bound to ctx, or nil.
func (c *connCache) take(ctx context.Context, key string) *session {
	if c == nil {
		return nil
	}
	for {
		c.mu.Lock()
		list := c.idleBy[key]
		if len(list) == 0 {
			c.mu.Unlock()
			return nil
		}
		e := list[len(list)-1]
		c.idleBy[key] = list[:len(list)-1]
		if len(c.idleBy[key]) == 0 {
			delete(c.idleBy, key)
		}
		c.mu.Unlock()
		if !e.timer.Stop() {
			continue // its idle time ran out as we took it; the timer closes it
		}
		s := e.s
		if err := s.sc.Reset(); err != nil {
			s.broken = true
			s.close()
			continue
		}
		s.stop = context.AfterFunc(ctx, func() { _ = s.raw.Close() })
		return s
	}
}

// put caches s for its next transaction, or closes it when it is broken,
// used up or old, or the cache is off or closed.
func (c *connCache) put(key string, s *session) {
	if c == nil || s.broken || s.uses >= c.maxReuse || time.Since(s.opened) > c.maxLife {
		s.close()
		return
	}
	if !s.stop() {
		// The delivery's context ended and is closing the connection.
		s.broken = true
		s.close()
		return
	}
	s.stop = func() bool { return true }
	e := &cached{s: s}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		go s.close()
		return
	}
	e.timer = time.AfterFunc(c.idle, func() { c.expire(key, e) })
	c.idleBy[key] = append(c.idleBy[key], e)
}

// expire removes e from the cache, if it is still there, and closes it.
func (c *connCache) expire(key string, e *cached) {
	c.mu.Lock()
	list := c.idleBy[key]
	for i, x := range list {
		if x == e {
			c.idleBy[key] = append(list[:i:i], list[i+1:]...)
			if len(c.idleBy[key]) == 0 {
				delete(c.idleBy, key)
			}
			break
		}
	}
	c.mu.Unlock()
	e.s.close()
}

// close closes every cached session and caches no more.
func (c *connCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	var all []*cached
	for _, list := range c.idleBy {
		all = append(all, list...)
	}
	c.idleBy = map[string][]*cached{}
	c.mu.Unlock()
	for _, e := range all {
		if e.timer.Stop() {
			e.s.close()
		}
	}
}
