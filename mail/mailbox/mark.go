package mailbox

import (
	"context"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
)

// Flags are the flag changes Mark makes: a nil field leaves that flag as
// it is. They are IMAP's system flags \Seen, \Flagged and \Answered
// (RFC 9051 §2.3.2).
type Flags struct {
	Seen, Flagged, Answered *bool
}

// empty reports whether f changes nothing.
func (f Flags) empty() bool { return f.Seen == nil && f.Flagged == nil && f.Answered == nil }

// changes reports whether applying f to m would change any flag.
func (f Flags) changes(m *ent.Message) bool {
	differs := func(want *bool, have bool) bool { return want != nil && *want != have }
	return differs(f.Seen, m.Seen) || differs(f.Flagged, m.Flagged) ||
		differs(f.Answered, m.Answered)
}

// Mark sets or clears flags of the messages with the given ids and returns
// them, in the order of ids, as they are afterwards. Only messages whose
// flags change get a new MODSEQ (RFC 7162 §3.1: the mod-sequence moves
// when metadata changes), so marking twice is harmless. Once the change
// is committed, hub (which may be nil) hears of the mailboxes whose
// messages changed.
func Mark(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	ids []pulid.ID,
	f Flags,
) ([]*ent.Message, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	if f.empty() {
		return nil, &directory.InputError{
			Field: "flags", Msg: "name at least one of seen, flagged and answered",
		}
	}
	ids, err := checkIDs(ids)
	if err != nil {
		return nil, err
	}
	var out []*ent.Message
	err = change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		ms, err := load(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		var changed []*ent.Message
		for _, m := range ms {
			if f.changes(m) {
				changed = append(changed, m)
			}
		}
		mailboxes, err := mark(ctx, c, changed, f)
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

// mark applies f to ms, one update per mailbox, each with the mailbox's
// new HIGHEST-MODSEQ, and returns those mailboxes.
func mark(ctx context.Context, c *ent.Client, ms []*ent.Message, f Flags) ([]pulid.ID, error) {
	order, groups := byMailbox(ms)
	for _, mbx := range order {
		mod, err := bump(ctx, c, mbx)
		if err != nil {
			return nil, err
		}
		err = c.Message.Update().
			Where(message.IDIn(idsOf(groups[mbx])...)).
			SetNillableSeen(f.Seen).
			SetNillableFlagged(f.Flagged).
			SetNillableAnswered(f.Answered).
			SetModseq(mod).
			Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: mark messages in %s: %w", mbx, err)
		}
	}
	return order, nil
}
