package rule

import (
	"context"
	"errors"

	"entgo.io/ent"
	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent/viewer"
)

// TenantOptions describe how a tenant-owned entity relates to accounts.
type TenantOptions struct {
	// AccountColumn, when set, names the column that holds the owning
	// account ("account_id", or "id" for the Account entity itself). Account
	// viewers may then read and write the rows whose column is their own
	// account; without it, account viewers are refused.
	AccountColumn string
	// AccountOrgWide lets account viewers read and create rows of their
	// whole organization (raw message blobs, whose ids only ever reach
	// them through their own messages).
	AccountOrgWide bool
	// MutationScope is the scope a tenant needs to change rows: write by
	// default, keys for API keys.
	MutationScope viewer.Scope
}

// TenantQueryPolicy filters every query of a tenant-owned entity to the
// viewer's organization (and, for account viewers, to their account).
func TenantQueryPolicy(o TenantOptions) privacy.QueryPolicy {
	return privacy.QueryPolicy{
		DenyIfNoViewer(),
		QueryFunc(func(ctx context.Context, q ent.Query) error {
			v := viewer.FromContext(ctx)
			switch {
			case v.Admin():
				return privacy.Skip
			case !v.Has(viewer.ScopeRead):
				return privacy.Denyf("rule: scope %q required", viewer.ScopeRead)
			}
			return filterTenant(ctx, q, o)
		}),
	}
}

// TenantMutationPolicy limits writes of a tenant-owned entity to the
// viewer's organization: updates and deletes are filtered by it, and a
// create naming another organization is refused. The organization of a
// create that names none is set by the tenant mixin's hook, and links to
// other rows are checked there too.
func TenantMutationPolicy(o TenantOptions) privacy.MutationPolicy {
	scope := o.MutationScope
	if scope == "" {
		scope = viewer.ScopeWrite
	}
	return privacy.MutationPolicy{
		DenyIfNoViewer(),
		privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
			v := viewer.FromContext(ctx)
			switch {
			case v.Admin():
				return privacy.Skip
			case !v.Has(scope):
				return privacy.Denyf("rule: scope %q required", scope)
			}
			if v.Kind == viewer.KindAccount &&
				o.AccountColumn != AccountColumn && !o.AccountOrgWide {
				// An account changes its mail, never its own settings.
				return privacy.Denyf("rule: not writable by an account")
			}
			if m.Op().Is(ent.OpCreate) {
				return checkCreate(v, m, o)
			}
			return filterTenant(ctx, m, o)
		}),
	}
}

// filterTenant restricts q (a query or an update/delete mutation) to the
// viewer's organization and, for account viewers, to their account.
func filterTenant(ctx context.Context, q any, o TenantOptions) error {
	v := viewer.FromContext(ctx)
	if v.OrgID == "" {
		return privacy.Denyf("rule: viewer has no organization")
	}
	if v.Kind == viewer.KindAccount {
		switch {
		case v.AccountID == "":
			return privacy.Denyf("rule: account viewer without account")
		case o.AccountColumn != "":
			if err := filter(q, o.AccountColumn, string(v.AccountID)); !errors.Is(err, privacy.Skip) {
				return err
			}
		case !o.AccountOrgWide:
			return privacy.Denyf("rule: not readable by an account")
		}
	}
	return filter(q, OrgColumn, string(v.OrgID))
}

// checkCreate refuses a create for another organization or account.
func checkCreate(v *viewer.Viewer, m ent.Mutation, o TenantOptions) error {
	if v.OrgID == "" {
		return privacy.Denyf("rule: viewer has no organization")
	}
	if org, ok := m.Field(OrgColumn); ok && idString(org) != string(v.OrgID) {
		return privacy.Denyf("rule: create in another organization")
	}
	if v.Kind != viewer.KindAccount {
		return privacy.Skip
	}
	if o.AccountOrgWide {
		return privacy.Skip
	}
	if acc, ok := m.Field(AccountColumn); !ok || idString(acc) != string(v.AccountID) {
		return privacy.Denyf("rule: create for another account")
	}
	return privacy.Skip
}

// OrganizationQueryPolicy lets tenants and accounts read only their own
// organization.
func OrganizationQueryPolicy() privacy.QueryPolicy {
	return privacy.QueryPolicy{
		DenyIfNoViewer(),
		QueryFunc(func(ctx context.Context, q ent.Query) error {
			v := viewer.FromContext(ctx)
			if v.Admin() {
				return privacy.Skip
			}
			if v.OrgID == "" {
				return privacy.Denyf("rule: viewer has no organization")
			}
			return filter(q, "id", string(v.OrgID))
		}),
	}
}

// idString returns the string form of an id field value.
func idString(v ent.Value) string {
	switch id := v.(type) {
	case string:
		return id
	case interface{ String() string }:
		return id.String()
	}
	return ""
}

// TenantKeyCreate refuses API keys that a tenant creates without its
// organization or as server-wide admin keys; only the admin mints those.
func TenantKeyCreate() privacy.MutationRule {
	return privacy.OnMutationOperation(
		privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
			if viewer.FromContext(ctx).Admin() {
				return privacy.Skip
			}
			if admin, ok := m.Field("admin"); ok && admin == true {
				return privacy.Denyf("rule: only the admin creates admin keys")
			}
			if _, ok := m.Field(OrgColumn); !ok {
				return privacy.Denyf("rule: an API key needs an organization")
			}
			return privacy.Skip
		}), ent.OpCreate)
}
