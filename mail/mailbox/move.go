package mailbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
)

// ErrUIDsExhausted is returned when a mailbox has no UIDs left to assign.
// IMAP would need a new UIDVALIDITY (RFC 9051 §2.3.1.1), which Lightr does
// not do yet.
var ErrUIDsExhausted = errors.New("mailbox: no UIDs left in the mailbox")

// Move moves the messages with the given ids into the mailbox target, which
// must belong to the same account as each of them, and returns them, in
// the order of ids, as they are afterwards. Messages already in target
// stay as they are.
//
// As IMAP MOVE does (RFC 6851 §3.3), each moved message gets the next UID
// of target, in the order of its old mailbox and UID; target's UIDNEXT
// moves past them. The old mailboxes and target each get a new
// HIGHEST-MODSEQ, which the moved messages take as their MODSEQ, and,
// once that is committed, hub (which may be nil) hears of them all.
func Move(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	ids []pulid.ID,
	target pulid.ID,
) ([]*ent.Message, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	ids, err := checkIDs(ids)
	if err != nil {
		return nil, err
	}
	var out []*ent.Message
	err = change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		mb, err := c.Mailbox.Get(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("mailbox: target %s: %w", target, err)
		}
		ms, err := load(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		var moving []*ent.Message
		for _, m := range ms {
			if m.AccountID != mb.AccountID {
				return nil, &directory.InputError{
					Field: "mailboxID", Msg: "the mailbox belongs to another account",
				}
			}
			if m.MailboxID != target {
				moving = append(moving, m)
			}
		}
		mailboxes, err := move(ctx, c, moving, mb)
		if err != nil {
			return nil, err
		}
		out, err = load(ctx, c, ids)
		return mailboxes, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// move assigns ms UIDs in mb and moves them there. It returns the
// mailboxes it changed: mb and the ones ms left.
func move(
	ctx context.Context,
	c *ent.Client,
	ms []*ent.Message,
	mb *ent.Mailbox,
) ([]pulid.ID, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	slices.SortFunc(ms, func(a, b *ent.Message) int {
		return cmp.Or(cmp.Compare(a.MailboxID, b.MailboxID), cmp.Compare(a.UID, b.UID))
	})
	uid, mod, err := reserveUIDs(ctx, c, mb, len(ms))
	if err != nil {
		return nil, err
	}

	sources, _ := byMailbox(ms)
	for _, src := range sources {
		// The source loses messages: an expunge, as far as a client
		// synchronizing it by mod-sequence is concerned.
		if _, err := bump(ctx, c, src); err != nil {
			return nil, err
		}
	}
	for _, m := range ms {
		err := c.Message.UpdateOneID(m.ID).
			SetMailboxID(mb.ID).
			SetUID(uid).
			SetModseq(mod).
			Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: move %s: %w", m.ID, err)
		}
		uid++
	}
	return append(sources, mb.ID), nil
}
