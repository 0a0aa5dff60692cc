package store

import (
	"context"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/blobcontent"
	"github.com/lightr-mail/lightr/ent/rule"
)

// BatchGetter is a BlobStore that can read many keys at once. Reading a
// mailbox's messages one query each costs more in per-query overhead than
// in the bytes, which is what SEARCH TEXT over a large mailbox does.
type BatchGetter interface {
	// GetMany returns the bytes of each key present, by key.
	GetMany(ctx context.Context, c *ent.Client, keys []string) (map[string][]byte, error)
}

// GetMany implements BatchGetter with one query per call.
func (DBStore) GetMany(ctx context.Context, c *ent.Client, keys []string) (map[string][]byte, error) {
	rows, err := c.BlobContent.Query().Where(blobcontent.KeyIn(keys...)).All(rule.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("store: get %d blobs: %w", len(keys), err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Data
	}
	return out, nil
}

// LoadMany returns the bytes of each of blobs, in order: one query for all
// of them when the BlobStore is a BatchGetter, else one per blob. Callers
// bound len(blobs), which bounds the memory and the query's parameters.
func (s *Store) LoadMany(ctx context.Context, c *ent.Client, blobs []*ent.Blob) ([][]byte, error) {
	out := make([][]byte, len(blobs))
	bg, ok := s.Blobs.(BatchGetter)
	if !ok {
		for i, b := range blobs {
			raw, err := s.Load(ctx, c, b)
			if err != nil {
				return nil, err
			}
			out[i] = raw
		}
		return out, nil
	}
	keys := make([]string, len(blobs))
	for i, b := range blobs {
		keys[i] = b.Key
	}
	got, err := bg.GetMany(ctx, c, keys)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		raw, ok := got[k]
		if !ok {
			return nil, fmt.Errorf("store: get %s: no such blob", k)
		}
		out[i] = raw
	}
	return out, nil
}
