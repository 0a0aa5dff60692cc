package mailbox

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
)

// MaxIDs is the most messages one call changes. It bounds the work done
// while the database's single writer is held.
const MaxIDs = 1000

// ErrTxNotInContext is returned when the client given belongs to a
// transaction that the context does not carry (ent.NewTxContext, as
// ent.Client.OpenTx and so entgql.Transactioner do), while a hub waits to
// hear of the change: the hub may hear only after that transaction
// committed, which needs its commit hook.
var ErrTxNotInContext = errors.New("mailbox: the caller's transaction is not in the context")

// change runs fn in the transaction of c if c belongs to one (a GraphQL
// mutation's), or else in a transaction of its own that it commits when
// fn succeeds. fn returns the mailboxes it changed, which hub hears of
// once the transaction committed, and never when it rolls back.
func change(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	fn func(*ent.Client) ([]pulid.ID, error),
) error {
	tx, err := c.Tx(ctx)
	if errors.Is(err, ent.ErrTxStarted) {
		return inCallerTx(ctx, c, hub, fn)
	}
	if err != nil {
		return fmt.Errorf("mailbox: begin: %w", err)
	}
	changed, err := fn(tx.Client())
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %w)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mailbox: commit: %w", err)
	}
	hub.Publish(changed...)
	return nil
}

// inTx is change for a caller that has no hub to tell: it wakes nobody.
func inTx(ctx context.Context, c *ent.Client, fn func(*ent.Client) error) error {
	return change(ctx, c, nil, func(c *ent.Client) ([]pulid.ID, error) { return nil, fn(c) })
}

// inCallerTx runs fn in the caller's transaction, whose client c is, and
// tells hub of the changed mailboxes from that transaction's commit hook.
func inCallerTx(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	fn func(*ent.Client) ([]pulid.ID, error),
) error {
	// Find the transaction before writing anything, so that a caller
	// that cannot be notified fails without side effects.
	var tx *ent.Tx
	if hub != nil {
		if tx = ent.TxFromContext(ctx); tx == nil || tx.Client() != c {
			return ErrTxNotInContext
		}
	}
	changed, err := fn(c)
	if err != nil || hub == nil || len(changed) == 0 {
		return err
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			hub.Publish(changed...)
			return nil
		})
	})
	return nil
}

// requireWrite refuses viewers without the write scope before anything is
// read, so that a read-only credential learns nothing from the answer
// (which ids exist, which input is wrong). The privacy rules enforce the
// same on every write; the system context passes.
func requireWrite(ctx context.Context) error {
	// DecisionFromContext reports a stored Allow as a nil decision.
	if d, ok := privacy.DecisionFromContext(ctx); ok && d == nil {
		return nil
	}
	if viewer.FromContext(ctx).Has(viewer.ScopeWrite) {
		return nil
	}
	return privacy.Denyf("mailbox: the %q scope is required", viewer.ScopeWrite)
}

// checkIDs returns ids without duplicates, in their first order, or an
// input error when there are too many.
func checkIDs(ids []pulid.ID) ([]pulid.ID, error) {
	out := make([]pulid.ID, 0, len(ids))
	seen := make(map[pulid.ID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(out) > MaxIDs {
		return nil, &directory.InputError{
			Field: "ids", Msg: fmt.Sprintf("at most %d messages at a time", MaxIDs),
		}
	}
	return out, nil
}

// load returns the messages with the given ids (already deduplicated), in
// that order. An id the viewer cannot see fails the whole call as not
// found, exactly like an id that does not exist.
func load(ctx context.Context, c *ent.Client, ids []pulid.ID) ([]*ent.Message, error) {
	ms, err := c.Message.Query().Where(message.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("mailbox: load messages: %w", err)
	}
	byID := make(map[pulid.ID]*ent.Message, len(ms))
	for _, m := range ms {
		byID[m.ID] = m
	}
	out := make([]*ent.Message, 0, len(ids))
	for _, id := range ids {
		m, ok := byID[id]
		if !ok {
			return nil, notFound(ctx, c, id)
		}
		out = append(out, m)
	}
	return out, nil
}

// notFound returns Ent's not-found error for the message id.
func notFound(ctx context.Context, c *ent.Client, id pulid.ID) error {
	_, err := c.Message.Get(ctx, id)
	if err == nil {
		// It appeared between two reads of one transaction: impossible
		// with SQLite's single writer, but never report success.
		err = &ent.NotFoundError{}
	}
	return fmt.Errorf("mailbox: message %s: %w", id, err)
}

// bump raises the HIGHEST-MODSEQ of mailbox id by one and returns the new
// value, which the messages changed in the same call take as their
// MODSEQ (RFC 7162 §3.1.1).
func bump(ctx context.Context, c *ent.Client, id pulid.ID) (int64, error) {
	mb, err := c.Mailbox.UpdateOneID(id).AddHighestModseq(1).Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("mailbox: bump modseq of %s: %w", id, err)
	}
	return mb.HighestModseq, nil
}

// byMailbox groups messages by the mailbox that holds them, with the
// mailboxes in a stable order.
func byMailbox(ms []*ent.Message) ([]pulid.ID, map[pulid.ID][]*ent.Message) {
	groups := make(map[pulid.ID][]*ent.Message)
	var order []pulid.ID
	for _, m := range ms {
		if _, ok := groups[m.MailboxID]; !ok {
			order = append(order, m.MailboxID)
		}
		groups[m.MailboxID] = append(groups[m.MailboxID], m)
	}
	slices.Sort(order)
	return order, groups
}

// idsOf returns the ids of ms.
func idsOf(ms []*ent.Message) []pulid.ID {
	out := make([]pulid.ID, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
