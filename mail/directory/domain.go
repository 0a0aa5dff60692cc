package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"

	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/apikey"
	"github.com/lightr-mail/lightr/ent/dkimkey"
	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/mailalias"
	"github.com/lightr-mail/lightr/ent/organization"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/suppression"
	"github.com/lightr-mail/lightr/ent/template"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/ent/webhook"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/store"
)

// ErrNotEmpty is returned when deleting something that still holds data.
var ErrNotEmpty = errors.New("directory: not empty")

// ErrLimit is returned when an organization's limit would be exceeded.
var ErrLimit = errors.New("directory: organization limit reached")

// orgFor returns the organization a create by the current viewer goes to:
// the viewer's own, or for the admin the one named.
func orgFor(ctx context.Context, named *pulid.ID) (pulid.ID, error) {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return "", errors.New("directory: no viewer")
	case v.Admin() && (named == nil || *named == ""):
		return "", inputErr("organizationID", "required for the server admin")
	case v.Admin():
		return *named, nil
	case named != nil && *named != "" && *named != v.OrgID:
		return "", privacy.Denyf("directory: not your organization")
	}
	return v.OrgID, nil
}

// CreateDomain adds a hosted domain to an organization (the viewer's, or
// for the admin org).
func CreateDomain(ctx context.Context, c *ent.Client, org *pulid.ID,
	in ent.CreateDomainInput) (*ent.Domain, error) {
	orgID, err := orgFor(ctx, org)
	if err != nil {
		return nil, err
	}
	if in.Name, err = NormalizeDomain(in.Name); err != nil {
		return nil, inputErr("name", "%v", err)
	}
	o, err := c.Organization.Get(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if o.MaxDomains > 0 {
		n, err := c.Domain.Query().Where(domain.OrganizationID(orgID)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n >= o.MaxDomains {
			return nil, fmt.Errorf("%w: at most %d domains", ErrLimit, o.MaxDomains)
		}
	}
	return c.Domain.Create().SetInput(in).SetOrganizationID(orgID).Save(ctx)
}

// UpdateDomain changes a domain's settings.
func UpdateDomain(ctx context.Context, c *ent.Client, id pulid.ID,
	in ent.UpdateDomainInput) (*ent.Domain, error) {
	return c.Domain.UpdateOneID(id).SetInput(in).Save(ctx)
}

// DeleteDomain removes a domain with its aliases, DKIM keys and outbound
// history. A domain that still has accounts is refused: their mail would
// go with it.
func DeleteDomain(ctx context.Context, c *ent.Client, id pulid.ID) error {
	// Permission first, so that a caller who may not delete learns nothing
	// about what the domain holds.
	if !viewer.FromContext(ctx).Has(viewer.ScopeWrite) {
		return privacy.Denyf("directory: the %q scope is required", viewer.ScopeWrite)
	}
	d, err := c.Domain.Get(ctx, id)
	if err != nil {
		return err
	}
	n, err := c.Account.Query().Where(account.DomainID(d.ID)).Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: domain %s has %d accounts; delete them first", ErrNotEmpty, d.Name, n)
	}
	if _, err := c.MailAlias.Delete().Where(mailalias.DomainID(d.ID)).Exec(ctx); err != nil {
		return err
	}
	if _, err := c.DKIMKey.Delete().Where(dkimkey.DomainID(d.ID)).Exec(ctx); err != nil {
		return err
	}
	// Recipients and attempts go with their message (ON DELETE CASCADE).
	_, err = c.OutboundMessage.Delete().Where(outboundmessage.DomainID(d.ID)).Exec(ctx)
	if err != nil {
		return err
	}
	if err := c.Domain.DeleteOneID(d.ID).Exec(ctx); err != nil {
		return err
	}
	_, err = store.New().CollectGarbage(ctx, c, d.OrganizationID)
	return err
}

// FindDomain returns the domain with the given id or name.
func FindDomain(ctx context.Context, c *ent.Client, idOrName string) (*ent.Domain, error) {
	if id := pulid.ID(idOrName); id.Prefix() == "dom" {
		return c.Domain.Get(ctx, id)
	}
	name, err := NormalizeDomain(idOrName)
	if err != nil {
		return nil, inputErr("domain", "%v", err)
	}
	return c.Domain.Query().Where(domain.Name(name)).Only(ctx)
}

// DeleteOrganization removes an organization that has no domains left,
// with everything else it owns: API keys, templates, webhooks,
// suppressions, its event log and stored blobs. Admin only.
func DeleteOrganization(ctx context.Context, c *ent.Client, id pulid.ID) error {
	if !viewer.FromContext(ctx).Admin() {
		return privacy.Denyf("directory: deleting an organization is for the server admin")
	}
	if _, err := c.Organization.Get(ctx, id); err != nil {
		return err
	}
	n, err := c.Domain.Query().Where(domain.OrganizationID(id)).Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: organization has %d domains; delete them first", ErrNotEmpty, n)
	}
	// The event log is append-only for everyone but the system; it goes
	// with its organization.
	sys := systemContext(ctx)
	deletes := []func() (int, error){
		func() (int, error) { return c.APIKey.Delete().Where(apikey.OrganizationID(id)).Exec(ctx) },
		func() (int, error) { return c.Template.Delete().Where(template.OrganizationID(id)).Exec(ctx) },
		func() (int, error) { return c.Webhook.Delete().Where(webhook.OrganizationID(id)).Exec(ctx) },
		func() (int, error) {
			return c.Suppression.Delete().Where(suppression.OrganizationID(id)).Exec(ctx)
		},
		func() (int, error) { return c.Event.Delete().Where(event.OrganizationID(id)).Exec(sys) },
		func() (int, error) { return store.New().CollectGarbage(ctx, c, id) },
	}
	for _, del := range deletes {
		if _, err := del(); err != nil {
			return err
		}
	}
	return c.Organization.DeleteOneID(id).Exec(ctx)
}

// OrganizationExists reports whether id names a visible organization.
func OrganizationExists(ctx context.Context, c *ent.Client, id pulid.ID) (bool, error) {
	return c.Organization.Query().Where(organization.ID(id)).Exist(ctx)
}

// AddDKIMKey generates a DKIM key for a domain under selector (the
// domain's current selector when empty) and makes the domain sign with it.
func AddDKIMKey(ctx context.Context, c *ent.Client, d *ent.Domain, selector, algorithm string,
	bits int) (*ent.DKIMKey, error) {
	if selector == "" {
		selector = d.DkimSelector
	}
	if !validLabel(strings.ToLower(selector)) {
		return nil, inputErr("selector", "%q is not a valid DNS label", selector)
	}
	// One key per selector, whatever its algorithm: the selector names one
	// DNS record (RFC 6376 §3.6.2.1), and verifiers handle two records
	// under one name badly, so an RSA and an Ed25519 key need two.
	exists, err := c.DKIMKey.Query().Where(
		dkimkey.DomainID(d.ID), dkimkey.Selector(selector)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, inputErr("selector", "domain %s already has a key for selector %q; "+
			"use another selector (for a second algorithm too, e.g. %q)", d.Name, selector,
			selector+"-"+algorithm)
	}
	k, err := dkim.Generate(algorithm, bits)
	if err != nil {
		return nil, inputErr("algorithm", "%v", err)
	}
	key, err := c.DKIMKey.Create().
		SetOrganizationID(d.OrganizationID).
		SetDomainID(d.ID).
		SetSelector(selector).
		SetAlgorithm(dkimkey.Algorithm(algorithm)).
		SetPrivateKey(k.PrivateDER).
		SetPublicKey(k.PublicB64).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if selector != d.DkimSelector {
		if err := c.Domain.UpdateOneID(d.ID).SetDkimSelector(selector).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return key, nil
}
