package resolver

import "time"

// SetClock replaces the clock the cache of r reads, for tests of expiry.
func SetClock(r *Resolver, now func() time.Time) { r.now = now }

// CacheLen returns the number of answers r holds.
func CacheLen(r *Resolver) int {
	if r.cache == nil {
		return 0
	}
	return r.cache.len()
}
