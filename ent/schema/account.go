package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Account is a mailbox user at a hosted domain: it receives mail, logs in
// over IMAP and submission, and sends as its own address.
type Account struct {
	ent.Schema
}

// Mixin of Account.
func (Account) Mixin() []ent.Mixin {
	return []ent.Mixin{
		pulid.MixinWithPrefix("acc"),
		TimeMixin{},
		TenantMixin{Options: rule.TenantOptions{AccountColumn: "id"}},
	}
}

// Fields of Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain_id").
			GoType(pulid.ID("")).
			Immutable(),
		field.String("local_part").
			NotEmpty().
			MaxLen(64).
			Immutable().
			Comment("The part before the @, lower case."),
		field.String("email").
			NotEmpty().
			MaxLen(320).
			Immutable().
			Comment("The full address, lower case; set from local_part and the domain.").
			Annotations(
				entgql.OrderField("EMAIL"),
				serverSet,
			),
		field.String("password_hash").
			Sensitive().
			Optional().
			Comment("argon2id PHC string; empty means no password login.").
			Annotations(entgql.Skip()),
		field.String("display_name").
			Optional().
			MaxLen(200),
		field.Int64("quota_bytes").
			NonNegative().
			Default(0).
			Comment("Most bytes of stored mail; 0 means no limit."),
		field.Int64("used_bytes").
			NonNegative().
			Default(0).
			Comment("Bytes of stored mail, kept up to date by delivery and expunge.").
			Annotations(serverSet),
		field.Int("send_limit_per_hour").
			NonNegative().
			Default(0).
			Comment("Most outbound recipients an hour; 0 means no limit."),
		field.Bool("disabled").
			Default(false).
			Comment("A disabled account neither logs in nor receives mail."),
	}
}

// Edges of Account.
func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("domain", Domain.Type).
			Ref("accounts").
			Field("domain_id").
			Unique().
			Required().
			Immutable(),
		edge.To("mailboxes", Mailbox.Type).
			Annotations(
				entsql.OnDelete(entsql.Cascade),
				serverSet,
			),
	}
}

// Indexes of Account.
func (Account) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("email").Unique(),
		index.Fields("domain_id", "local_part").Unique(),
	}
}

// Annotations of Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("accounts"),
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
