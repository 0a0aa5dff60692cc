package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/mailalias"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/auth"
)

// StandardMailboxes are created with every account, with their RFC 6154
// special-use attributes.
var StandardMailboxes = []struct {
	Name string
	Use  mailbox.SpecialUse // "" for INBOX
}{
	{"INBOX", ""},
	{"Sent", mailbox.SpecialUseSent},
	{"Drafts", mailbox.SpecialUseDrafts},
	{"Trash", mailbox.SpecialUseTrash},
	{"Junk", mailbox.SpecialUseJunk},
	{"Archive", mailbox.SpecialUseArchive},
}

// CreateAccount adds an account with its standard mailboxes. An empty
// password is replaced by a generated one, which is returned; otherwise
// the returned password is "".
func CreateAccount(ctx context.Context, c *ent.Client, in ent.CreateAccountInput,
	password string) (*ent.Account, string, error) {
	d, err := c.Domain.Get(ctx, in.DomainID)
	if err != nil {
		return nil, "", err
	}
	if in.LocalPart, err = NormalizeLocalPart(in.LocalPart); err != nil {
		return nil, "", inputErr("localPart", "%v", err)
	}
	email := in.LocalPart + "@" + d.Name
	if err := checkAddressFree(ctx, c, email); err != nil {
		return nil, "", err
	}
	if err := checkAccountLimit(ctx, c, d.OrganizationID); err != nil {
		return nil, "", err
	}
	hash, generated, err := hashOrGenerate(password)
	if err != nil {
		return nil, "", err
	}

	a, err := c.Account.Create().
		SetInput(in).
		SetOrganizationID(d.OrganizationID).
		SetEmail(email).
		SetPasswordHash(hash).
		Save(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := createStandardMailboxes(ctx, c, a); err != nil {
		return nil, "", err
	}
	return a, generated, nil
}

// hashOrGenerate hashes password, generating one when it is empty.
func hashOrGenerate(password string) (hash, generated string, err error) {
	if password == "" {
		generated = auth.GeneratePassword()
		password = generated
	}
	hash, err = auth.HashPassword(password)
	if err != nil {
		return "", "", inputErr("password", "%v", err)
	}
	return hash, generated, nil
}

// SetPassword replaces an account's password; an empty one is generated
// and returned.
func SetPassword(ctx context.Context, c *ent.Client, id pulid.ID,
	password string) (*ent.Account, string, error) {
	hash, generated, err := hashOrGenerate(password)
	if err != nil {
		return nil, "", err
	}
	a, err := c.Account.UpdateOneID(id).SetPasswordHash(hash).Save(ctx)
	return a, generated, err
}

func createStandardMailboxes(ctx context.Context, c *ent.Client, a *ent.Account) error {
	// UIDVALIDITY only has to change when a mailbox is recreated under the
	// same name (RFC 9051 §2.3.1.1); creation time in seconds does that.
	validity := uint32(time.Now().Unix())
	builders := make([]*ent.MailboxCreate, 0, len(StandardMailboxes))
	for _, m := range StandardMailboxes {
		b := c.Mailbox.Create().
			SetOrganizationID(a.OrganizationID).
			SetAccountID(a.ID).
			SetName(m.Name).
			SetUIDValidity(validity)
		if m.Use != "" {
			b.SetSpecialUse(m.Use)
		}
		builders = append(builders, b)
	}
	return c.Mailbox.CreateBulk(builders...).Exec(ctx)
}

// checkAddressFree refuses an address that an account or alias holds.
func checkAddressFree(ctx context.Context, c *ent.Client, email string) error {
	// Uniqueness spans organizations, which the caller may not see, so the
	// check runs as the system; it reveals only that the address is taken.
	sys := systemContext(ctx)
	if ok, err := c.Account.Query().Where(account.Email(email)).Exist(sys); err != nil || ok {
		return takenOr(err, email)
	}
	if ok, err := c.MailAlias.Query().Where(mailalias.Email(email)).Exist(sys); err != nil || ok {
		return takenOr(err, email)
	}
	return nil
}

func takenOr(err error, email string) error {
	if err != nil {
		return err
	}
	return inputErr("localPart", "%s is already in use", email)
}

func checkAccountLimit(ctx context.Context, c *ent.Client, org pulid.ID) error {
	o, err := c.Organization.Get(ctx, org)
	if err != nil || o.MaxAccounts == 0 {
		return err
	}
	n, err := c.Account.Query().Where(account.OrganizationID(org)).Count(ctx)
	if err != nil {
		return err
	}
	if n >= o.MaxAccounts {
		return fmt.Errorf("%w: at most %d accounts", ErrLimit, o.MaxAccounts)
	}
	return nil
}

// FindAccount returns the account with the given id or address.
func FindAccount(ctx context.Context, c *ent.Client, idOrEmail string) (*ent.Account, error) {
	if id := pulid.ID(idOrEmail); id.Prefix() == "acc" {
		return c.Account.Get(ctx, id)
	}
	local, dom, err := SplitAddress(idOrEmail)
	if err != nil {
		return nil, inputErr("email", "%v", err)
	}
	return c.Account.Query().Where(account.Email(local + "@" + dom)).Only(ctx)
}

// DeleteAccount removes an account with its mailboxes and messages (the
// foreign keys cascade), then the raw messages nothing references any more.
func DeleteAccount(ctx context.Context, c *ent.Client, id pulid.ID) error {
	a, err := c.Account.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := c.Account.DeleteOneID(id).Exec(ctx); err != nil {
		return err
	}
	_, err = store.New().CollectGarbage(ctx, c, a.OrganizationID)
	return err
}
