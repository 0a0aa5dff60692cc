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

// Mailbox is an account's folder, as IMAP sees it (RFC 9051 §2.3.1.1):
// UIDs are assigned from uid_next and never reused within uid_validity.
type Mailbox struct {
	ent.Schema
}

// Mixin of Mailbox.
func (Mailbox) Mixin() []ent.Mixin {
	return []ent.Mixin{
		pulid.MixinWithPrefix("mbx"),
		TimeMixin{},
		TenantMixin{Options: rule.TenantOptions{AccountColumn: rule.AccountColumn}},
	}
}

// Fields of Mailbox.
func (Mailbox) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").
			GoType(pulid.ID("")).
			Immutable(),
		field.String("name").
			NotEmpty().
			MaxLen(512).
			Comment("Full name with / as hierarchy separator; INBOX is always upper case.").
			Annotations(entgql.OrderField("NAME")),
		field.Enum("special_use").
			Values("all", "archive", "drafts", "flagged", "junk", "sent", "trash").
			Optional().
			Nillable().
			Comment("RFC 6154 special-use attribute."),
		field.Uint32("uid_validity").
			Immutable().
			Annotations(serverSet),
		field.Uint32("uid_next").
			Default(1).
			Annotations(serverSet),
		field.Int64("highest_modseq").
			Default(1).
			Comment("Bumped by every change to the mailbox's messages (RFC 7162).").
			Annotations(serverSet),
		field.Bool("subscribed").
			Default(true),
	}
}

// Edges of Mailbox.
func (Mailbox) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).
			Ref("mailboxes").
			Field("account_id").
			Unique().
			Required().
			Immutable(),
		edge.To("messages", Message.Type).
			Annotations(
				entsql.OnDelete(entsql.Cascade),
				entgql.RelayConnection(),
				serverSet,
			),
	}
}

// Indexes of Mailbox.
func (Mailbox) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "name").Unique()}
}

// Annotations of Mailbox.
func (Mailbox) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("mailboxes"),
		entgql.QueryField(),
		entgql.RelayConnection(),
	}
}
