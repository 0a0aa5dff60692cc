package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// MailAlias (Alias in GraphQL) is an address at a hosted domain that
// delivers to one or more other addresses: local accounts or remote
// mailboxes.
type MailAlias struct {
	ent.Schema
}

// Mixin of MailAlias.
func (MailAlias) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("ali"), TimeMixin{}, TenantMixin{}}
}

// Fields of MailAlias.
func (MailAlias) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain_id").
			GoType(pulid.ID("")).
			Immutable(),
		field.String("local_part").
			NotEmpty().
			MaxLen(64).
			Immutable(),
		field.String("email").
			NotEmpty().
			MaxLen(320).
			Immutable().
			Comment("The full alias address, lower case; set from local_part and the domain.").
			Annotations(
				entgql.OrderField("EMAIL"),
				serverSet,
			),
		field.Strings("destinations").
			Comment("Addresses the alias delivers to."),
	}
}

// Edges of MailAlias.
func (MailAlias) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("domain", Domain.Type).
			Ref("aliases").
			Field("domain_id").
			Unique().
			Required().
			Immutable(),
	}
}

// Indexes of MailAlias.
func (MailAlias) Indexes() []ent.Index {
	return []ent.Index{index.Fields("email").Unique()}
}

// Annotations of MailAlias.
func (MailAlias) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("aliases"),
		entgql.Type("Alias"),
		entgql.QueryField("aliases"),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
