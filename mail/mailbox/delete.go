package mailbox

import (
	"context"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
)

// Delete removes the messages with the given ids for good and returns how
// many went. Their sizes leave their accounts' used bytes, their mailboxes
// get a new HIGHEST-MODSEQ, and a raw message that nothing references any
// more leaves st (store.New() when st is nil), all in one transaction.
// Once it is committed, hub (which may be nil) hears of the mailboxes.
func Delete(
	ctx context.Context,
	c *ent.Client,
	st *store.Store,
	hub *notify.Hub,
	ids []pulid.ID,
) (int, error) {
	if err := requireWrite(ctx); err != nil {
		return 0, err
	}
	ids, err := checkIDs(ids)
	if err != nil {
		return 0, err
	}
	if st == nil {
		st = store.New()
	}
	var n int
	err = change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		ms, err := load(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		order, _ := byMailbox(ms)
		for _, mbx := range order {
			if _, err := bump(ctx, c, mbx); err != nil {
				return nil, err
			}
		}
		if n, err = c.Message.Delete().Where(message.IDIn(ids...)).Exec(ctx); err != nil {
			return nil, fmt.Errorf("mailbox: delete messages: %w", err)
		}
		if err := releaseQuota(ctx, c, ms); err != nil {
			return nil, err
		}
		return order, releaseBlobs(ctx, c, st, ms)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// releaseQuota takes the sizes of the deleted messages ms off their
// accounts' used bytes. used_bytes is the server's bookkeeping, which an
// account viewer may not write, so this runs as the system, on accounts
// that own messages the viewer could delete.
func releaseQuota(ctx context.Context, c *ent.Client, ms []*ent.Message) error {
	sys := rule.SystemContext(ctx)
	freed := make(map[pulid.ID]int64)
	var order []pulid.ID
	for _, m := range ms {
		if _, ok := freed[m.AccountID]; !ok {
			order = append(order, m.AccountID)
		}
		freed[m.AccountID] += m.Size
	}
	for _, id := range order {
		a, err := c.Account.Get(sys, id)
		if err != nil {
			return fmt.Errorf("mailbox: account %s: %w", id, err)
		}
		// Never below zero, even if the count drifted (rows written
		// without it, as by hand or by an older version).
		used := max(a.UsedBytes-freed[id], 0)
		if err := c.Account.UpdateOneID(id).SetUsedBytes(used).Exec(sys); err != nil {
			return fmt.Errorf("mailbox: used bytes of %s: %w", id, err)
		}
	}
	return nil
}

// releaseBlobs removes the raw messages of the deleted ms that no message
// and no outbound message references any more. It looks only at those
// blobs, where store.CollectGarbage would scan every blob of the
// organization; the references counted are the same. Another account's
// copy of a blob is invisible to an account viewer, so the check runs as
// the system.
func releaseBlobs(ctx context.Context, c *ent.Client, st *store.Store, ms []*ent.Message) error {
	sys := rule.SystemContext(ctx)
	seen := make(map[pulid.ID]bool)
	for _, m := range ms {
		if seen[m.BlobID] {
			continue
		}
		seen[m.BlobID] = true
		used, err := blobUsed(sys, c, m.BlobID)
		if err != nil {
			return err
		}
		if used {
			continue
		}
		b, err := c.Blob.Get(sys, m.BlobID)
		if err != nil {
			return fmt.Errorf("mailbox: blob %s: %w", m.BlobID, err)
		}
		// The row goes first: its foreign keys would stop the delete if
		// anything still pointed at it, before any bytes are gone.
		if err := c.Blob.DeleteOneID(b.ID).Exec(sys); err != nil {
			return fmt.Errorf("mailbox: delete blob %s: %w", b.ID, err)
		}
		if err := st.Blobs.Delete(sys, c, b.Key); err != nil {
			return fmt.Errorf("mailbox: delete bytes of blob %s: %w", b.ID, err)
		}
	}
	return nil
}

// blobUsed reports whether a message or an outbound message references
// the blob id. ctx must be the system's.
func blobUsed(ctx context.Context, c *ent.Client, id pulid.ID) (bool, error) {
	used, err := c.Message.Query().Where(message.BlobID(id)).Exist(ctx)
	if err != nil || used {
		return used, err
	}
	return c.OutboundMessage.Query().Where(outboundmessage.BlobID(id)).Exist(ctx)
}
