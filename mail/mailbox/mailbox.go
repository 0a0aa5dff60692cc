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
)

// MaxIDs is the most messages one call changes. It bounds the work done
// while the database's single writer is held.
const MaxIDs = 1000

// inTx runs fn in the transaction of c if c belongs to one (a GraphQL
// mutation's), or else in a transaction of its own that it commits when
// fn succeeds.
func inTx(ctx context.Context, c *ent.Client, fn func(*ent.Client) error) error {
	tx, err := c.Tx(ctx)
	if errors.Is(err, ent.ErrTxStarted) {
		return fn(c)
	}
	if err != nil {
		return fmt.Errorf("mailbox: begin: %w", err)
	}
	if err := fn(tx.Client()); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %w)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mailbox: commit: %w", err)
	}
	return nil
}

// requireWrite refuses viewers without the write scope before anything is
// read, so that a read-only credential learns nothing from the answer
// (which ids exist, which input is wrong). The privacy rules enforce the
// same on every write; the system context passes.
func requireWrite(ctx context.Context) error {
	if d, ok := privacy.DecisionFromContext(ctx); ok && errors.Is(d, privacy.Allow) {
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
