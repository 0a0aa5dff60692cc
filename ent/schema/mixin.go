package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// TimeMixin records when a row was created and last changed.
type TimeMixin struct {
	mixin.Schema
}

// Fields implements ent.Mixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").
			Default(time.Now).
			Immutable().
			Annotations(entgql.OrderField("CREATED_AT"), serverSet),
		field.Time("updated_at").
			Default(time.Now).
			UpdateDefault(time.Now).
			Immutable().
			Annotations(entgql.OrderField("UPDATED_AT"), serverSet),
	}
}

// serverSet keeps a field that the server maintains out of the GraphQL
// mutation inputs.
var serverSet = entgql.Skip(entgql.SkipMutationCreateInput | entgql.SkipMutationUpdateInput)

// TenantMixin marks an entity as owned by an organization. It adds the
// immutable organization_id column and edge, the privacy policy that
// confines every viewer to its own organization, and the hooks that fill
// in the organization on create and refuse links across organizations.
type TenantMixin struct {
	mixin.Schema
	Options rule.TenantOptions
}

// Fields implements ent.Mixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("organization_id").
			GoType(pulid.ID("")).
			Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
	}
}

// Edges implements ent.Mixin.
func (TenantMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("organization", Organization.Type).
			Field("organization_id").
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
	}
}

// Indexes implements ent.Mixin.
func (TenantMixin) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id")}
}

// Policy implements ent.Mixin.
func (m TenantMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query:    rule.TenantQueryPolicy(m.Options),
		Mutation: rule.TenantMutationPolicy(m.Options),
	}
}

// privacyPolicy joins a query and a mutation policy.
func privacyPolicy(q privacy.QueryPolicy, m privacy.MutationPolicy) ent.Policy {
	return privacy.Policy{Query: q, Mutation: m}
}
