package mailbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/notify"
)

// ErrOverQuota is returned when a copy or an appended message would take
// an account past its quota. IMAP answers NO [OVERQUOTA] (RFC 9208 §4.3).
var ErrOverQuota = errors.New("mailbox: over quota")

// Copied pairs a message with the copy that Copy made of it.
type Copied struct {
	Source *ent.Message
	Copy   *ent.Message
}

// Copy copies the messages with the given ids into the mailbox target, of
// the same account, as IMAP COPY does (RFC 9051 §6.4.7): each copy gets
// the next UID of target, in the order of its source mailbox and UID, the
// same flags and internal date, and the same raw message (blobs are
// shared, never duplicated). The copies count against the account's quota;
// a copy that does not fit fails the whole call with ErrOverQuota. Once
// that is committed, hub (which may be nil) hears of target.
func Copy(
	ctx context.Context,
	c *ent.Client,
	hub *notify.Hub,
	ids []pulid.ID,
	target pulid.ID,
) ([]Copied, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	ids, err := checkIDs(ids)
	if err != nil {
		return nil, err
	}
	var out []Copied
	err = change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		mb, err := c.Mailbox.Get(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("mailbox: target %s: %w", target, err)
		}
		ms, err := load(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.AccountID != mb.AccountID {
				return nil, &directory.InputError{
					Field: "mailboxID", Msg: "the mailbox belongs to another account",
				}
			}
		}
		out, err = copyInto(ctx, c, ms, mb)
		return []pulid.ID{target}, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// copyInto writes copies of ms into mb.
func copyInto(ctx context.Context, c *ent.Client, ms []*ent.Message, mb *ent.Mailbox) ([]Copied, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	slices.SortFunc(ms, func(a, b *ent.Message) int {
		return cmp.Or(cmp.Compare(a.MailboxID, b.MailboxID), cmp.Compare(a.UID, b.UID))
	})
	var size int64
	for _, m := range ms {
		size += m.Size
	}
	if err := charge(ctx, c, mb.AccountID, size); err != nil {
		return nil, err
	}
	uid, mod, err := reserveUIDs(ctx, c, mb, len(ms))
	if err != nil {
		return nil, err
	}
	out := make([]Copied, 0, len(ms))
	for _, m := range ms {
		cp, err := c.Message.Create().
			SetOrganizationID(m.OrganizationID).SetAccountID(m.AccountID).
			SetMailboxID(mb.ID).SetBlobID(m.BlobID).SetUID(uid).SetModseq(mod).
			SetSeen(m.Seen).SetAnswered(m.Answered).SetFlagged(m.Flagged).
			SetDeleted(m.Deleted).SetDraft(m.Draft).SetKeywords(m.Keywords).
			SetInternalDate(m.InternalDate).SetSize(m.Size).SetSubject(m.Subject).
			SetFromAddress(m.FromAddress).SetFromName(m.FromName).
			SetToAddresses(m.ToAddresses).SetCcAddresses(m.CcAddresses).
			SetNillableSentAt(m.SentAt).SetMessageIDHeader(m.MessageIDHeader).
			SetPreview(m.Preview).SetHasAttachments(m.HasAttachments).
			SetAttachments(m.Attachments).SetEnvelope(m.Envelope).
			SetBodyStructure(m.BodyStructure).SetAuthResults(m.AuthResults).
			SetSpfResult(m.SpfResult).SetDkimResult(m.DkimResult).SetDmarcResult(m.DmarcResult).
			Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: copy %s: %w", m.ID, err)
		}
		out = append(out, Copied{Source: m, Copy: cp})
		uid++
	}
	return out, nil
}

// reserveUIDs takes n UIDs of mb and a new mod-sequence in one update, and
// returns the first UID and the mod-sequence. The writer is held until
// commit, so no delivery can take the same UIDs.
func reserveUIDs(ctx context.Context, c *ent.Client, mb *ent.Mailbox, n int) (uint32, int64, error) {
	if uint64(mb.UIDNext)+uint64(n) > math.MaxUint32 {
		return 0, 0, fmt.Errorf("%w: %s", ErrUIDsExhausted, mb.ID)
	}
	next, err := c.Mailbox.UpdateOneID(mb.ID).
		AddUIDNext(int32(n)).
		AddHighestModseq(1).
		Save(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("mailbox: reserve UIDs in %s: %w", mb.ID, err)
	}
	return next.UIDNext - uint32(n), next.HighestModseq, nil
}

// charge adds size bytes to the account's used bytes, or fails with
// ErrOverQuota. used_bytes is the server's bookkeeping, which an account
// viewer may not write, so this runs as the system on the viewer's own
// account.
func charge(ctx context.Context, c *ent.Client, account pulid.ID, size int64) error {
	sys := rule.SystemContext(ctx)
	a, err := c.Account.Get(sys, account)
	if err != nil {
		return fmt.Errorf("mailbox: account %s: %w", account, err)
	}
	if a.QuotaBytes > 0 && a.UsedBytes+size > a.QuotaBytes {
		return fmt.Errorf("%w: %s", ErrOverQuota, account)
	}
	if err := c.Account.UpdateOneID(account).AddUsedBytes(size).Exec(sys); err != nil {
		return fmt.Errorf("mailbox: used bytes of %s: %w", account, err)
	}
	return nil
}
