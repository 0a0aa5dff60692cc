package certs

import (
	"context"
	"time"
)

// MaxNames exports the SNI cache bound to the tests.
const MaxNames = maxNames

// SetClock makes s read the time from now. Call it before s serves.
func SetClock(s *Store, now func() time.Time) { s.nowFunc = now }

// CachedNames returns how many SNI names s remembers.
func CachedNames(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byName)
}

// FilesFor exposes the SNI lookup, for a context a handshake cannot be
// made to carry.
func FilesFor(s *Store, ctx context.Context, name string) (certPath, keyPath string) {
	return s.filesFor(ctx, name)
}
