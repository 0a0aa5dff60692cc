package mailbox

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
)

// FlagOp says how SetFlags combines the flags it is given with a
// message's own, as IMAP STORE's FLAGS, +FLAGS and -FLAGS do (RFC 9051
// §6.4.6).
type FlagOp int

// The operations of SetFlags.
const (
	FlagsReplace FlagOp = iota // the message gets exactly these flags
	FlagsAdd                   // these flags are set, others kept
	FlagsRemove                // these flags are cleared, others kept
)

// FlagSet is every flag of a message: IMAP's system flags and keywords
// (RFC 9051 §2.3.2). Keywords are compared case-insensitively and kept in
// the case first written.
type FlagSet struct {
	Seen, Answered, Flagged, Deleted, Draft bool
	Keywords                                []string
}

// MaxKeywords bounds the keywords of one message, and MaxKeywordLen the
// length of each, so that a client cannot grow a row without bound.
const (
	MaxKeywords   = 64
	MaxKeywordLen = 128
)

// FlagsOf returns the flags of m.
func FlagsOf(m *ent.Message) FlagSet {
	return FlagSet{Seen: m.Seen, Answered: m.Answered, Flagged: m.Flagged,
		Deleted: m.Deleted, Draft: m.Draft, Keywords: m.Keywords}
}

// apply returns have changed by op with f.
func (f FlagSet) apply(op FlagOp, have FlagSet) FlagSet {
	switch op {
	case FlagsReplace:
		out := f
		out.Keywords = dedupKeywords(f.Keywords)
		return out
	case FlagsAdd:
		return FlagSet{
			Seen: have.Seen || f.Seen, Answered: have.Answered || f.Answered,
			Flagged: have.Flagged || f.Flagged, Deleted: have.Deleted || f.Deleted,
			Draft:    have.Draft || f.Draft,
			Keywords: dedupKeywords(append(slices.Clone(have.Keywords), f.Keywords...)),
		}
	default:
		out := FlagSet{
			Seen: have.Seen && !f.Seen, Answered: have.Answered && !f.Answered,
			Flagged: have.Flagged && !f.Flagged, Deleted: have.Deleted && !f.Deleted,
			Draft: have.Draft && !f.Draft,
		}
		for _, k := range have.Keywords {
			if !containsFold(f.Keywords, k) {
				out.Keywords = append(out.Keywords, k)
			}
		}
		return out
	}
}

// Equal reports whether f and g hold the same flags, keywords in any order.
func (f FlagSet) Equal(g FlagSet) bool {
	if f.Seen != g.Seen || f.Answered != g.Answered || f.Flagged != g.Flagged ||
		f.Deleted != g.Deleted || f.Draft != g.Draft || len(f.Keywords) != len(g.Keywords) {
		return false
	}
	for _, k := range f.Keywords {
		if !containsFold(g.Keywords, k) {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(k string) bool { return strings.EqualFold(k, s) })
}

func dedupKeywords(ks []string) []string {
	var out []string
	for _, k := range ks {
		if !containsFold(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// checkKeywords refuses keywords that are empty, too long, too many, or
// not an IMAP atom (RFC 9051 §9 flag-keyword), so that whatever is stored
// can be written back to a client.
func checkKeywords(ks []string) error {
	if len(ks) > MaxKeywords {
		return &directory.InputError{Field: "keywords", Msg: fmt.Sprintf("at most %d keywords", MaxKeywords)}
	}
	for _, k := range ks {
		if k == "" || len(k) > MaxKeywordLen || strings.ContainsAny(k, "(){ %*\"\\]") || strings.HasPrefix(k, "\\") {
			return &directory.InputError{Field: "keywords", Msg: fmt.Sprintf("%q is not a keyword", k)}
		}
		for i := 0; i < len(k); i++ {
			if k[i] <= ' ' || k[i] >= 0x7f {
				return &directory.InputError{Field: "keywords", Msg: fmt.Sprintf("%q is not a keyword", k)}
			}
		}
	}
	return nil
}

// SetFlags changes the flags of the messages with the given ids by op and
// returns them, in the order of ids, as they are afterwards. As Mark does,
// it gives a new MODSEQ only to messages whose flags change, and hub
// (which may be nil) hears of their mailboxes once that is committed.
func SetFlags(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	ids []pulid.ID,
	op FlagOp,
	f FlagSet,
) ([]*ent.Message, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	if err := checkKeywords(f.Keywords); err != nil {
		return nil, err
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
		changed, err := setFlags(ctx, c, ms, op, f)
		if err != nil {
			return nil, err
		}
		out, err = load(ctx, c, ids)
		return changed, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// setFlags writes the changed messages of ms, with one new mod-sequence
// per mailbox, and returns the mailboxes it changed.
func setFlags(ctx context.Context, c *ent.Client, ms []*ent.Message, op FlagOp, f FlagSet) ([]pulid.ID, error) {
	var changed []*ent.Message
	next := make(map[pulid.ID]FlagSet)
	for _, m := range ms {
		have := FlagsOf(m)
		want := f.apply(op, have)
		if len(want.Keywords) > MaxKeywords {
			return nil, &directory.InputError{Field: "keywords", Msg: fmt.Sprintf("at most %d keywords", MaxKeywords)}
		}
		if !want.Equal(have) {
			changed = append(changed, m)
			next[m.ID] = want
		}
	}
	order, groups := byMailbox(changed)
	for _, mbx := range order {
		mod, err := bump(ctx, c, mbx)
		if err != nil {
			return nil, err
		}
		for _, m := range groups[mbx] {
			w := next[m.ID]
			u := c.Message.UpdateOneID(m.ID).
				SetSeen(w.Seen).SetAnswered(w.Answered).SetFlagged(w.Flagged).
				SetDeleted(w.Deleted).SetDraft(w.Draft).SetModseq(mod)
			if len(w.Keywords) == 0 {
				u.ClearKeywords()
			} else {
				u.SetKeywords(w.Keywords)
			}
			if err := u.Exec(ctx); err != nil {
				return nil, fmt.Errorf("mailbox: set flags of %s: %w", m.ID, err)
			}
		}
	}
	return order, nil
}
