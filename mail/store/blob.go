package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/blob"
	"github.com/lightr-mail/lightr/ent/blobcontent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// BlobStore keeps the bytes of raw messages under opaque keys. Calls take
// the *ent.Client of the caller's transaction, so that a store inside the
// database commits or rolls back with the rows that reference the bytes.
type BlobStore interface {
	Put(ctx context.Context, c *ent.Client, key string, data []byte) error
	Get(ctx context.Context, c *ent.Client, key string) ([]byte, error)
	Delete(ctx context.Context, c *ent.Client, key string) error
}

// DBStore is the BlobStore that keeps bytes in the database.
type DBStore struct{}

// Put implements BlobStore. Storing the same key twice is a no-op.
func (DBStore) Put(ctx context.Context, c *ent.Client, key string, data []byte) error {
	return c.BlobContent.Create().SetKey(key).SetData(data).
		OnConflictColumns(blobcontent.FieldKey).DoNothing().
		Exec(rule.SystemContext(ctx))
}

// Get implements BlobStore.
func (DBStore) Get(ctx context.Context, c *ent.Client, key string) ([]byte, error) {
	bc, err := c.BlobContent.Query().Where(blobcontent.Key(key)).Only(rule.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, err)
	}
	return bc.Data, nil
}

// Delete implements BlobStore.
func (DBStore) Delete(ctx context.Context, c *ent.Client, key string) error {
	_, err := c.BlobContent.Delete().Where(blobcontent.Key(key)).Exec(rule.SystemContext(ctx))
	return err
}

// Store saves and loads raw messages.
type Store struct {
	Blobs BlobStore
}

// New returns a Store over the database blob store.
func New() *Store { return &Store{Blobs: DBStore{}} }

// Save stores raw for org, or finds the identical message stored before,
// and returns its Blob. Call it inside the transaction that creates the
// rows referencing the blob.
func (s *Store) Save(ctx context.Context, c *ent.Client, org pulid.ID, raw []byte) (*ent.Blob, error) {
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	b, err := c.Blob.Query().Where(blob.OrganizationID(org), blob.Sha256(hash)).Only(ctx)
	if err == nil {
		return b, nil
	}
	if !ent.IsNotFound(err) {
		return nil, err
	}
	// The key includes the organization: tenants never share bytes, so
	// deleting one tenant's data never depends on another's.
	key := string(org) + "/" + hash
	if err := s.Blobs.Put(ctx, c, key, raw); err != nil {
		return nil, err
	}
	return c.Blob.Create().
		SetOrganizationID(org).
		SetSha256(hash).
		SetSize(int64(len(raw))).
		SetKey(key).
		Save(ctx)
}

// Load returns the bytes of b.
func (s *Store) Load(ctx context.Context, c *ent.Client, b *ent.Blob) ([]byte, error) {
	return s.Blobs.Get(ctx, c, b.Key)
}

// unreferenced selects blobs that no message and no outbound message uses.
const unreferenced = `SELECT id, key FROM blobs WHERE organization_id = ? AND
	NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = blobs.id) AND
	NOT EXISTS (SELECT 1 FROM outbound_messages o WHERE o.blob_id = blobs.id)
	LIMIT 500`

// CollectGarbage deletes org's blobs that nothing references any more,
// with their bytes, and returns how many went. Run it after deleting
// messages (in the same transaction) and periodically.
func (s *Store) CollectGarbage(ctx context.Context, c *ent.Client, org pulid.ID) (int, error) {
	sys := rule.SystemContext(ctx)
	total := 0
	for {
		rows, err := c.QueryContext(sys, unreferenced, string(org))
		if err != nil {
			return total, fmt.Errorf("store: find garbage: %w", err)
		}
		type victim struct{ id, key string }
		var vs []victim
		for rows.Next() {
			var v victim
			if err := rows.Scan(&v.id, &v.key); err != nil {
				rows.Close()
				return total, err
			}
			vs = append(vs, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, err
		}
		for _, v := range vs {
			if err := s.Blobs.Delete(sys, c, v.key); err != nil {
				return total, err
			}
			if err := c.Blob.DeleteOneID(pulid.ID(v.id)).Exec(sys); err != nil {
				return total, err
			}
		}
		total += len(vs)
		if len(vs) < 500 {
			return total, nil
		}
	}
}
