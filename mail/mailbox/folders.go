package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lightr-mail/lightr/ent"
	entmbox "github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
)

// Delimiter separates the levels of a mailbox name ("Archive/2026").
const Delimiter = '/'

// Inbox is the name of the mailbox that receives mail. Its name is
// case-insensitive (RFC 9051 §5.1), and stored in upper case.
const Inbox = "INBOX"

// Errors of the folder operations, which IMAP answers with response codes
// (RFC 5530).
var (
	// ErrExists: a mailbox of that name exists already (ALREADYEXISTS).
	ErrExists = errors.New("mailbox: a mailbox of that name exists")
	// ErrNoMailbox: no mailbox of that name (NONEXISTENT).
	ErrNoMailbox = errors.New("mailbox: no such mailbox")
	// ErrHasChildren: the mailbox has mailboxes below it (HASCHILDREN).
	ErrHasChildren = errors.New("mailbox: the mailbox has children")
	// ErrInboxFixed: INBOX cannot be deleted (CANNOT).
	ErrInboxFixed = errors.New("mailbox: INBOX cannot be deleted")
	// ErrBadName: the name cannot be a mailbox name (CANNOT).
	ErrBadName = errors.New("mailbox: invalid mailbox name")
)

// NormalizeName returns name as Lightr stores it: INBOX in upper case,
// whatever the case it is written in, at the top or as the first level
// of a longer name, and everything else as it is. It refuses names that are
// empty, longer than 512 bytes, not UTF-8, with control characters, with
// the LIST wildcards * and %, or with an empty level ("a//b", "/a", "a/").
func NormalizeName(name string) (string, error) {
	if name == "" || len(name) > 512 || !utf8.ValidString(name) ||
		strings.ContainsAny(name, "*%") {
		return "", fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("%w: %q has a control character", ErrBadName, name)
		}
	}
	levels := strings.Split(name, string(Delimiter))
	for _, l := range levels {
		if l == "" {
			return "", fmt.Errorf("%w: %q has an empty level", ErrBadName, name)
		}
	}
	if strings.EqualFold(levels[0], Inbox) {
		levels[0] = Inbox
	}
	return strings.Join(levels, string(Delimiter)), nil
}

// parents returns the names above name, outermost first.
func parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == Delimiter {
			out = append(out, name[:i])
		}
	}
	return out
}

// validity hands out UIDVALIDITY values: the time in seconds, but always
// above the last one this process gave, so that a mailbox deleted and
// created again within a second still gets a new one (RFC 9051 §2.3.1.1).
var validity struct {
	sync.Mutex
	last uint32
}

func nextValidity(floor uint32) uint32 {
	validity.Lock()
	defer validity.Unlock()
	v := max(uint32(time.Now().Unix()), validity.last+1, floor)
	validity.last = v
	return v
}

// Find returns the account's mailbox of that name (already normalized),
// or ErrNoMailbox.
func Find(ctx context.Context, c *ent.Client, account pulid.ID, name string) (*ent.Mailbox, error) {
	mb, err := c.Mailbox.Query().
		Where(entmbox.AccountID(account), entmbox.Name(name)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %q", ErrNoMailbox, name)
	}
	if err != nil {
		return nil, fmt.Errorf("mailbox: find %q: %w", name, err)
	}
	return mb, nil
}

// Create makes a mailbox of the account, and the levels above it that are
// missing (RFC 9051 §6.3.4 asks for that), with use as its special-use
// attribute when not empty (RFC 6154 §5.2). A name that exists already
// fails with ErrExists.
func Create(ctx context.Context, c *ent.Client, account pulid.ID, name string,
	use entmbox.SpecialUse) (*ent.Mailbox, error) {
	if err := requireWrite(ctx); err != nil {
		return nil, err
	}
	name, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	var out *ent.Mailbox
	err = inTx(ctx, c, func(c *ent.Client) error {
		acc, err := c.Account.Get(ctx, account)
		if err != nil {
			return fmt.Errorf("mailbox: account %s: %w", account, err)
		}
		if _, err := Find(ctx, c, account, name); err == nil {
			return fmt.Errorf("%w: %q", ErrExists, name)
		} else if !errors.Is(err, ErrNoMailbox) {
			return err
		}
		if err := ensureParents(ctx, c, account, name); err != nil {
			return err
		}
		out, err = createOne(ctx, c, acc, name, use)
		return err
	})
	return out, err
}

func createOne(ctx context.Context, c *ent.Client, acc *ent.Account, name string,
	use entmbox.SpecialUse) (*ent.Mailbox, error) {
	// Above every UIDVALIDITY the account has: its standard mailboxes
	// take the time in seconds when it is created, which this process's
	// counter does not know, so one deleted and created again within that
	// second would get its old value back (RFC 9051 §2.3.1.1). INBOX is
	// never deleted, so it keeps the floor above the standard ones.
	var floor uint32
	top, err := c.Mailbox.Query().Where(entmbox.AccountID(acc.ID)).
		Order(ent.Desc(entmbox.FieldUIDValidity)).First(ctx)
	if err == nil {
		floor = top.UIDValidity + 1
	} else if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("mailbox: validity of %s: %w", acc.ID, err)
	}
	b := c.Mailbox.Create().
		SetOrganizationID(acc.OrganizationID).SetAccountID(acc.ID).
		SetName(name).SetUIDValidity(nextValidity(floor))
	if use != "" {
		b.SetSpecialUse(use)
	}
	mb, err := b.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("mailbox: create %q: %w", name, err)
	}
	return mb, nil
}

// children returns the mailboxes below name.
func children(ctx context.Context, c *ent.Client, account pulid.ID, name string) ([]*ent.Mailbox, error) {
	prefix := name + string(Delimiter)
	ms, err := c.Mailbox.Query().
		Where(entmbox.AccountID(account), entmbox.NameHasPrefix(prefix)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("mailbox: children of %q: %w", name, err)
	}
	return ms, nil
}

// DeleteMailbox removes the account's mailbox of that name with its
// messages (their quota and unreferenced raw bytes released, as Delete
// does). INBOX cannot go (ErrInboxFixed), nor a mailbox with mailboxes
// below it (ErrHasChildren: delete those first, as Dovecot asks too).
func DeleteMailbox(ctx context.Context, c *ent.Client, st *store.Store, hub *notify.Hub,
	account pulid.ID, name string) error {
	if err := requireWrite(ctx); err != nil {
		return err
	}
	name, err := NormalizeName(name)
	if err != nil {
		return err
	}
	if name == Inbox {
		return ErrInboxFixed
	}
	if st == nil {
		st = store.New()
	}
	return change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		mb, err := Find(ctx, c, account, name)
		if err != nil {
			return nil, err
		}
		if kids, err := children(ctx, c, account, name); err != nil {
			return nil, err
		} else if len(kids) > 0 {
			return nil, fmt.Errorf("%w: %q", ErrHasChildren, name)
		}
		ms, err := c.Message.Query().Where(message.MailboxID(mb.ID)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: messages of %q: %w", name, err)
		}
		if _, err := c.Message.Delete().Where(message.MailboxID(mb.ID)).Exec(ctx); err != nil {
			return nil, fmt.Errorf("mailbox: delete messages of %q: %w", name, err)
		}
		if err := releaseQuota(ctx, c, ms); err != nil {
			return nil, err
		}
		if err := releaseBlobs(ctx, c, st, ms); err != nil {
			return nil, err
		}
		if err := c.Mailbox.DeleteOneID(mb.ID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("mailbox: delete %q: %w", name, err)
		}
		return []pulid.ID{mb.ID}, nil
	})
}

// RenameMailbox gives the account's mailbox from the name to, with the
// mailboxes below it, and creates the levels above to that are missing.
// Renaming INBOX moves its messages to a new mailbox called to and leaves
// INBOX empty (RFC 9051 §6.3.6). A name that exists already fails with
// ErrExists. UIDs and UIDVALIDITY do not change.
func RenameMailbox(ctx context.Context, c *ent.Client, hub *notify.Hub, account pulid.ID,
	from, to string) error {
	if err := requireWrite(ctx); err != nil {
		return err
	}
	from, err := NormalizeName(from)
	if err != nil {
		return err
	}
	if to, err = NormalizeName(to); err != nil {
		return err
	}
	if from == Inbox {
		return renameInbox(ctx, c, hub, account, to)
	}
	return change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		mb, err := Find(ctx, c, account, from)
		if err != nil {
			return nil, err
		}
		if from == to || strings.HasPrefix(to, from+string(Delimiter)) {
			return nil, fmt.Errorf("%w: cannot rename %q into itself", ErrBadName, from)
		}
		if _, err := Find(ctx, c, account, to); err == nil {
			return nil, fmt.Errorf("%w: %q", ErrExists, to)
		} else if !errors.Is(err, ErrNoMailbox) {
			return nil, err
		}
		kids, err := children(ctx, c, account, from)
		if err != nil {
			return nil, err
		}
		if err := ensureParents(ctx, c, account, to); err != nil {
			return nil, err
		}
		if err := c.Mailbox.UpdateOneID(mb.ID).SetName(to).Exec(ctx); err != nil {
			return nil, fmt.Errorf("mailbox: rename %q: %w", from, err)
		}
		changed := []pulid.ID{mb.ID}
		for _, k := range kids {
			name := to + strings.TrimPrefix(k.Name, from)
			if err := c.Mailbox.UpdateOneID(k.ID).SetName(name).Exec(ctx); err != nil {
				return nil, fmt.Errorf("mailbox: rename %q: %w", k.Name, err)
			}
			changed = append(changed, k.ID)
		}
		return changed, nil
	})
}

// ensureParents creates the missing levels above name.
func ensureParents(ctx context.Context, c *ent.Client, account pulid.ID, name string) error {
	acc, err := c.Account.Get(ctx, account)
	if err != nil {
		return fmt.Errorf("mailbox: account %s: %w", account, err)
	}
	for _, p := range parents(name) {
		if _, err := Find(ctx, c, account, p); errors.Is(err, ErrNoMailbox) {
			if _, err := createOne(ctx, c, acc, p, ""); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// renameInbox moves every message of INBOX into a new mailbox to.
func renameInbox(ctx context.Context, c *ent.Client, hub *notify.Hub, account pulid.ID, to string) error {
	return change(ctx, c, hub, func(c *ent.Client) ([]pulid.ID, error) {
		inbox, err := Find(ctx, c, account, Inbox)
		if err != nil {
			return nil, err
		}
		if _, err := Find(ctx, c, account, to); err == nil {
			return nil, fmt.Errorf("%w: %q", ErrExists, to)
		} else if !errors.Is(err, ErrNoMailbox) {
			return nil, err
		}
		if err := ensureParents(ctx, c, account, to); err != nil {
			return nil, err
		}
		acc, err := c.Account.Get(ctx, account)
		if err != nil {
			return nil, fmt.Errorf("mailbox: account %s: %w", account, err)
		}
		target, err := createOne(ctx, c, acc, to, "")
		if err != nil {
			return nil, err
		}
		ms, err := c.Message.Query().Where(message.MailboxID(inbox.ID)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("mailbox: messages of INBOX: %w", err)
		}
		if _, err := move(ctx, c, ms, target); err != nil {
			return nil, err
		}
		return []pulid.ID{inbox.ID, target.ID}, nil
	})
}

// SetSubscribed subscribes or unsubscribes the account's mailbox of that
// name (RFC 9051 §6.3.7).
func SetSubscribed(ctx context.Context, c *ent.Client, account pulid.ID, name string, on bool) error {
	if err := requireWrite(ctx); err != nil {
		return err
	}
	name, err := NormalizeName(name)
	if err != nil {
		return err
	}
	return inTx(ctx, c, func(c *ent.Client) error {
		mb, err := Find(ctx, c, account, name)
		if err != nil {
			return err
		}
		if err := c.Mailbox.UpdateOneID(mb.ID).SetSubscribed(on).Exec(ctx); err != nil {
			return fmt.Errorf("mailbox: subscribe %q: %w", name, err)
		}
		return nil
	})
}
