package mailbox

import (
	"context"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
)

// AppendInput is a message a client stores in one of its mailboxes
// itself, as IMAP APPEND does (RFC 9051 §6.3.12).
type AppendInput struct {
	// Mailbox receives the message.
	Mailbox pulid.ID
	// Raw is the message as the client sent it.
	Raw []byte
	// Parsed is message.Parse of Raw; nil stores empty cache columns.
	Parsed *message.Parsed
	// Flags are the message's flags.
	Flags FlagSet
	// InternalDate is the date the client gave, or zero for now.
	InternalDate time.Time
}

// Append stores in.Raw as a new message of in.Mailbox with the next UID,
// charged to the account's quota (ErrOverQuota when it does not fit), and
// returns it. The raw bytes are saved through st (store.New() when nil),
// once per organization whatever the number of copies. Once committed, hub
// (which may be nil) hears of the mailbox.
func Append(ctx context.Context, c *ent.Client, st *store.Store, hub *notify.Hub,
	in AppendInput) (*ent.Message, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	if err := checkKeywords(in.Flags.Keywords); err != nil {
		return nil, err
	}
	if st == nil {
		st = store.New()
	}
	if in.InternalDate.IsZero() {
		in.InternalDate = time.Now()
	}
	var out *ent.Message
	err := change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		mb, err := c.Mailbox.Get(ctx, in.Mailbox)
		if err != nil {
			return nil, fmt.Errorf("mailbox: %s: %w", in.Mailbox, err)
		}
		if err := charge(ctx, c, mb.AccountID, int64(len(in.Raw))); err != nil {
			return nil, err
		}
		blob, err := st.Save(ctx, c, mb.OrganizationID, in.Raw)
		if err != nil {
			return nil, fmt.Errorf("mailbox: save message: %w", err)
		}
		uid, mod, err := reserveUIDs(ctx, c, mb, 1)
		if err != nil {
			return nil, err
		}
		// The receiver of apply is the flags to apply: replacing the
		// empty set with in.Flags keeps them, keywords deduplicated.
		f := in.Flags.apply(FlagsReplace, FlagSet{})
		create := c.Message.Create().
			SetOrganizationID(mb.OrganizationID).SetAccountID(mb.AccountID).
			SetMailboxID(mb.ID).SetBlobID(blob.ID).SetUID(uid).SetModseq(mod).
			SetSeen(f.Seen).SetAnswered(f.Answered).SetFlagged(f.Flagged).
			SetDeleted(f.Deleted).SetDraft(f.Draft).SetKeywords(f.Keywords).
			SetInternalDate(in.InternalDate).SetSize(int64(len(in.Raw)))
		if err := setParsed(create, in.Parsed); err != nil {
			return nil, err
		}
		out, err = create.Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: append to %s: %w", mb.ID, err)
		}
		return []pulid.ID{mb.ID}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// setParsed fills the cache columns of a new message from p, as delivery
// does for received mail.
func setParsed(m *ent.MessageCreate, p *message.Parsed) error {
	if p == nil {
		return nil
	}
	m.SetSubject(p.Subject).SetFromAddress(p.From.Email).SetFromName(p.From.Name).
		SetToAddresses(emails(p.To)).SetCcAddresses(emails(p.Cc)).SetNillableSentAt(p.Date).
		SetMessageIDHeader(p.MessageID).SetPreview(p.Preview).
		SetHasAttachments(p.HasAttachments).SetEnvelope(p.Envelope).SetBodyStructure(p.BodyStructure)
	if len(p.Attachments) > 0 {
		b, err := message.EncodeAttachments(p.Attachments)
		if err != nil {
			return fmt.Errorf("mailbox: %w", err)
		}
		m.SetAttachments(b)
	}
	return nil
}

func emails(as []message.Address) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Email
	}
	return out
}
