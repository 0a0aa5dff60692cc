package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/db"
)

// ErrLeaseLost is returned by Complete and Release when the unit's lease
// is no longer the one Claim wrote: it ran out and another worker (or the
// same one, in a later Claim) took the unit over.
var ErrLeaseLost = errors.New("queue: lease lost")

// Unit is a delivery unit leased by Claim: the due recipients of one
// message in one domain.
type Unit struct {
	MessageID pulid.ID
	OrgID     pulid.ID
	BlobID    pulid.ID
	// BlobKey is the blob's key in the store.BlobStore, so that the
	// worker reads the bytes without first reading the blob's row.
	BlobKey  string
	MailFrom string
	Domain   string

	// SenderDomain and Account are the message's sending domain and
	// account (empty when no account sent it).
	SenderDomain pulid.ID
	Account      pulid.ID
	// TrackOpens and TrackClicks say whether the message is tracked.
	TrackOpens, TrackClicks bool
	// DKIMSignature and DKIMSelectors are the signature made when the
	// message was queued, if it was (mail/outbox.Presign).
	DKIMSignature string
	DKIMSelectors string

	// Recipients are the unit's recipients, in id order. Pass their
	// addresses to Deliver in this order.
	Recipients []Recipient

	// Attempts is the number of attempts already made (the largest among
	// the recipients).
	Attempts int

	// QueuedAt is when the message was queued; MaxAge counts from it.
	QueuedAt time.Time

	// Owner and LeaseUntil identify the lease.
	Owner      string
	LeaseUntil time.Time
}

// Recipient is one recipient of a Unit.
type Recipient struct {
	ID       pulid.ID
	Address  string
	Attempts int
}

// Addresses returns the addresses of u's recipients, in order.
func (u *Unit) Addresses() []string {
	a := make([]string, len(u.Recipients))
	for i, r := range u.Recipients {
		a[i] = r.Address
	}
	return a
}

func (u *Unit) ids() []pulid.ID {
	ids := make([]pulid.ID, len(u.Recipients))
	for i, r := range u.Recipients {
		ids[i] = r.ID
	}
	return ids
}

// pending selects the rows that still wait for delivery.
var pending = outboundrecipient.StatusIn(outboundrecipient.StatusQueued, outboundrecipient.StatusDeferred)

// inTx runs fn in a write transaction with the system context, which
// Claim, Complete and Release need because they serve every tenant.
func inTx(ctx context.Context, c *ent.Client, what string, fn func(context.Context, *ent.Client) error) error {
	ctx = rule.SystemContext(ctx)
	return db.InTx(ctx, c, "queue: "+what, func(tc *ent.Client) error { return fn(ctx, tc) })
}

// leased loads u's rows (their id, status and lease) and checks that
// every one still holds u's lease.
func leased(ctx context.Context, c *ent.Client, u *Unit) ([]*ent.OutboundRecipient, error) {
	rows, err := c.OutboundRecipient.Query().
		Where(outboundrecipient.IDIn(u.ids()...)).
		Select(outboundrecipient.FieldID, outboundrecipient.FieldStatus,
			outboundrecipient.FieldLeaseOwner, outboundrecipient.FieldLeaseUntil).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: load unit %s/%s: %w", u.MessageID, u.Domain, err)
	}
	if len(rows) != len(u.Recipients) {
		return nil, ErrLeaseLost
	}
	for _, r := range rows {
		if r.LeaseOwner != u.Owner || r.LeaseUntil == nil || !r.LeaseUntil.Equal(u.LeaseUntil) {
			return nil, ErrLeaseLost
		}
	}
	return rows, nil
}

// Release gives u back without counting an attempt, as a worker does when
// it stops before delivering: the unit is due again at once.
func Release(ctx context.Context, c *ent.Client, u *Unit) error {
	return inTx(ctx, c, "release", func(ctx context.Context, c *ent.Client) error {
		if _, err := leased(ctx, c, u); err != nil {
			return err
		}
		err := c.OutboundRecipient.Update().
			Where(outboundrecipient.IDIn(u.ids()...)).
			SetLeaseOwner("").
			ClearLeaseUntil().
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("queue: release %s/%s: %w", u.MessageID, u.Domain, err)
		}
		return nil
	})
}

// Recover clears the leases that earlier runs of a node left behind, so
// that a restarted process sends the units it was sending when it died at
// once, rather than when their leases run out. Owners are "node/suffix";
// Recover frees every pending lease whose owner starts with node+"/" but
// is not current, and returns how many recipients it freed. It is safe
// only when no other process is running under the same node name.
func Recover(ctx context.Context, c *ent.Client, node, current string) (int, error) {
	var n int
	err := inTx(ctx, c, "recover", func(ctx context.Context, c *ent.Client) error {
		var err error
		n, err = c.OutboundRecipient.Update().
			Where(pending,
				outboundrecipient.LeaseOwnerHasPrefix(node+"/"),
				outboundrecipient.LeaseOwnerNEQ(current)).
			SetLeaseOwner("").
			ClearLeaseUntil().
			Save(ctx)
		if err != nil {
			return fmt.Errorf("queue: recover leases of %s: %w", node, err)
		}
		return nil
	})
	return n, err
}
