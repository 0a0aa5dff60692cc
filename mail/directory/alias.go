package directory

import (
	"context"
	"net/mail"
	"strings"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// CreateAlias adds an alias address delivering to in.Destinations.
func CreateAlias(ctx context.Context, c *ent.Client, in ent.CreateAliasInput) (*ent.MailAlias, error) {
	d, err := c.Domain.Get(ctx, in.DomainID)
	if err != nil {
		return nil, err
	}
	if in.LocalPart, err = NormalizeLocalPart(in.LocalPart); err != nil {
		return nil, inputErr("localPart", "%v", err)
	}
	if in.Destinations, err = normalizeDestinations(in.Destinations); err != nil {
		return nil, err
	}
	email := in.LocalPart + "@" + d.Name
	if err := checkAddressFree(ctx, c, email); err != nil {
		return nil, err
	}
	return c.MailAlias.Create().
		SetInput(in).
		SetOrganizationID(d.OrganizationID).
		SetEmail(email).
		Save(ctx)
}

// UpdateAlias changes an alias's destinations.
func UpdateAlias(ctx context.Context, c *ent.Client, id pulid.ID,
	in ent.UpdateAliasInput) (*ent.MailAlias, error) {
	if in.AppendDestinations != nil {
		// entgql v0.7.0's SetInput appends the wrong list, so appending is
		// done here, as a replacement of the whole list.
		a, err := c.MailAlias.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		base := in.Destinations
		if base == nil {
			base = a.Destinations
		}
		in.Destinations = append(append([]string(nil), base...), in.AppendDestinations...)
		in.AppendDestinations = nil
	}
	if in.Destinations != nil {
		var err error
		if in.Destinations, err = normalizeDestinations(in.Destinations); err != nil {
			return nil, err
		}
	}
	return c.MailAlias.UpdateOneID(id).SetInput(in).Save(ctx)
}

func normalizeDestinations(dst []string) ([]string, error) {
	if len(dst) == 0 {
		return nil, inputErr("destinations", "at least one address is required")
	}
	out := make([]string, 0, len(dst))
	for _, a := range dst {
		// A destination may be any mailbox, remote ones included, so only
		// the domain is normalized; the local part is kept as given
		// (RFC 5321 §2.4: it is the receiving host's to interpret).
		parsed, err := mail.ParseAddress(a)
		if err != nil || parsed.Name != "" {
			return nil, inputErr("destinations", "%q is not a plain address", a)
		}
		i := strings.LastIndexByte(parsed.Address, '@')
		dom, err := NormalizeDomain(parsed.Address[i+1:])
		if err != nil {
			return nil, inputErr("destinations", "%v", err)
		}
		out = append(out, parsed.Address[:i]+"@"+dom)
	}
	return out, nil
}

// systemContext lets a directory check look across organizations.
func systemContext(ctx context.Context) context.Context {
	return rule.SystemContext(ctx)
}
