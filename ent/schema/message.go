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

// Message is one copy of a message in a mailbox. The raw bytes live once
// in a Blob shared by every copy; the fields here are the IMAP state and
// a cache of what was parsed at delivery, so that neither IMAP nor the API
// re-parse the message to list it.
type Message struct {
	ent.Schema
}

// Mixin of Message.
func (Message) Mixin() []ent.Mixin {
	return []ent.Mixin{
		pulid.MixinWithPrefix("msg"),
		TimeMixin{},
		TenantMixin{Options: rule.TenantOptions{AccountColumn: rule.AccountColumn}},
	}
}

// Fields of Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Type("ID")),
		field.String("mailbox_id").GoType(pulid.ID("")),
		field.String("blob_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Skip()),
		field.Uint32("uid").
			Comment("IMAP UID, unique within the mailbox's uid_validity.").
			Annotations(entgql.OrderField("UID")),
		field.Int64("modseq").Default(1).Annotations(entgql.Skip()),

		// IMAP flags (RFC 9051 §2.3.2); \Recent is per-session, not stored.
		field.Bool("seen").Default(false),
		field.Bool("answered").Default(false),
		field.Bool("flagged").Default(false),
		field.Bool("deleted").Default(false),
		field.Bool("draft").Default(false),
		field.Strings("keywords").Optional(),

		field.Time("internal_date").
			Immutable().
			Comment("When the message arrived (IMAP INTERNALDATE).").
			Annotations(entgql.OrderField("INTERNAL_DATE")),
		field.Int64("size").
			NonNegative().
			Immutable().
			Annotations(entgql.OrderField("SIZE")),

		// Parsed at delivery for the API.
		field.String("subject").Default("").Annotations(entgql.OrderField("SUBJECT")),
		field.String("from_address").Default(""),
		field.String("from_name").Default(""),
		field.Strings("to_addresses").Optional(),
		field.Strings("cc_addresses").Optional(),
		field.Time("sent_at").Optional().Nillable().
			Comment("The Date header, when it parses."),
		field.String("message_id_header").Default("").
			Comment("The Message-ID header without angle brackets."),
		field.String("preview").Default("").MaxLen(512).
			Comment("The first few hundred characters of the text body."),
		field.Bool("has_attachments").Default(false),
		field.Bytes("attachments").Optional().Annotations(entgql.Skip()).
			Comment("JSON list of attachment metadata (part, name, type, size)."),

		// Parsed at delivery for IMAP FETCH.
		field.Bytes("envelope").Optional().Annotations(entgql.Skip()).
			Comment("Cached IMAP ENVELOPE, encoded by the mail package."),
		field.Bytes("body_structure").Optional().Annotations(entgql.Skip()).
			Comment("Cached IMAP BODYSTRUCTURE, encoded by the mail package."),

		// Verdicts of inbound authentication checks.
		field.String("auth_results").Default("").
			Comment("The Authentication-Results header Lightr added (RFC 8601)."),
		field.String("spf_result").Default(""),
		field.String("dkim_result").Default(""),
		field.String("dmarc_result").Default(""),
	}
}

// Edges of Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("mailbox", Mailbox.Type).
			Ref("messages").
			Field("mailbox_id").
			Unique().
			Required().
			Annotations(serverSet),
		edge.To("blob", Blob.Type).
			Field("blob_id").
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip()),
	}
}

// Indexes of Message.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("mailbox_id", "uid").Unique(),
		// The same with the privacy rules' columns, so that a mailbox's
		// UIDs (IMAP SELECT) come from the index alone, without a visit
		// to every row.
		index.Fields("mailbox_id", "uid", "account_id", "organization_id"),
		index.Fields("account_id", "internal_date"),
		// A tenant's newest messages, the API's default listing.
		index.Fields("organization_id", "internal_date"),
		index.Fields("mailbox_id", "internal_date"),
		index.Fields("blob_id"),
	}
}

// Annotations of Message.
func (Message) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("messages"),
		entgql.QueryField(),
		entgql.RelayConnection(),
	}
}
