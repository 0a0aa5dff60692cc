// Package schema defines Lightr's data model as Ent schemas.
//
// Every entity has a prefixed ULID id (see pulid). Every entity but
// Organization, the tenant root, carries the TenantMixin, whose privacy
// policy confines each viewer to its own organization in the data layer.
package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Organization is a tenant: an agency's client or a product team. Every
// other row belongs to exactly one organization.
type Organization struct {
	ent.Schema
}

// Mixin of Organization.
func (Organization) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("org"), TimeMixin{}}
}

// Fields of Organization.
func (Organization) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			NotEmpty().
			MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Int("max_domains").
			NonNegative().
			Default(0).
			Comment("Most domains the organization may have; 0 means no limit."),
		field.Int("max_accounts").
			NonNegative().
			Default(0).
			Comment("Most accounts the organization may have; 0 means no limit."),
		field.Int("send_limit_per_day").
			NonNegative().
			Default(0).
			Comment("Most outbound recipients a day; 0 means no limit."),
		field.Bool("disabled").
			Default(false).
			Comment("A disabled organization neither sends nor receives mail."),
	}
}

// Policy of Organization: tenants read only themselves; only the
// server-wide admin creates, changes or deletes organizations.
func (Organization) Policy() ent.Policy {
	return privacy.Policy{
		Query:    rule.OrganizationQueryPolicy(),
		Mutation: privacy.MutationPolicy{rule.DenyUnlessAdmin()},
	}
}

// Annotations of Organization.
func (Organization) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("organizations"),
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
