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

// OutboundMessage is a message accepted for delivery to remote recipients,
// through the API or SMTP submission. Its bytes are a Blob; its delivery
// state is kept per recipient.
type OutboundMessage struct {
	ent.Schema
}

// Mixin of OutboundMessage.
func (OutboundMessage) Mixin() []ent.Mixin {
	return []ent.Mixin{
		pulid.MixinWithPrefix("out"),
		TimeMixin{},
		// Account viewers see the messages their account sent.
		TenantMixin{Options: rule.TenantOptions{AccountColumn: rule.AccountColumn}},
	}
}

// Fields of OutboundMessage.
func (OutboundMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Type("ID")),
		field.String("account_id").GoType(pulid.ID("")).Optional().Immutable().
			Comment("The sending account, when an account sent it.").
			Annotations(entgql.Type("ID")),
		field.String("blob_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Skip()),
		field.String("mail_from").Immutable().
			Comment("Envelope sender (RFC 5321 MAIL FROM); empty for a bounce."),
		field.String("message_id_header").Default(""),
		field.String("subject").Default(""),
		field.String("idempotency_key").Optional().Immutable(),
		field.String("request_hash").Optional().Immutable().
			Comment("Hash of the API request, to refuse a reused idempotency key.").
			Annotations(entgql.Skip()),
		field.Bool("track_opens").Default(false),
		field.Bool("track_clicks").Default(false),
		field.Enum("source").Values("api", "submission", "bounce").Immutable(),
		field.Text("dkim_signature").Optional().Immutable().
			Comment("DKIM-Signature fields made as the message was queued, sent before its blob; " +
				"empty when the workers sign as they send (tracked mail, bounces).").
			Annotations(entgql.Skip()),
		field.String("dkim_selectors").Optional().Immutable().
			Comment("The keys of dkim_signature (selector:fingerprint), comma-separated, in order: " +
				"a worker signs afresh when the domain's active keys are no longer these.").
			Annotations(entgql.Skip()),
	}
}

// Edges of OutboundMessage.
func (OutboundMessage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").
			Unique().Required().Immutable(),
		edge.To("blob", Blob.Type).Field("blob_id").
			Unique().Required().Immutable().
			Annotations(entgql.Skip()),
		edge.To("recipients", OutboundRecipient.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of OutboundMessage.
func (OutboundMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "idempotency_key").Unique(),
		index.Fields("blob_id"),
	}
}

// Annotations of OutboundMessage.
func (OutboundMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("outbound_messages"),
		entgql.QueryField("outboundMessages"),
		entgql.RelayConnection(),
	}
}

// OutboundRecipient is one recipient of an outbound message and its
// delivery state. Recipients of one message that share a domain form one
// delivery unit: the queue leases them together and sends them over one
// connection.
type OutboundRecipient struct {
	ent.Schema
}

// Mixin of OutboundRecipient.
func (OutboundRecipient) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("rcp"), TimeMixin{}, TenantMixin{}}
}

// Fields of OutboundRecipient.
func (OutboundRecipient) Fields() []ent.Field {
	return []ent.Field{
		field.String("outbound_message_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Type("ID")),
		field.String("address").NotEmpty().Immutable(),
		field.String("domain").NotEmpty().Immutable().
			Comment("The recipient's domain, lower case: the delivery unit key."),
		field.Enum("status").
			Values("queued", "deferred", "delivered", "bounced", "failed", "canceled").
			Default("queued"),
		field.Int("attempts").NonNegative().Default(0),
		field.Time("next_attempt_at").Optional().Nillable(),
		field.String("last_error").Default(""),
		field.String("remote_mx").Default(""),
		field.Bool("tls").Default(false),
		field.String("lease_owner").Default("").
			Comment("Worker that holds the delivery unit; empty when free.").
			Annotations(entgql.Skip()),
		field.Time("lease_until").Optional().Nillable().
			Annotations(entgql.Skip()),
	}
}

// Edges of OutboundRecipient.
func (OutboundRecipient) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("message", OutboundMessage.Type).
			Ref("recipients").
			Field("outbound_message_id").
			Unique().Required().Immutable(),
		edge.To("attempts_log", DeliveryAttempt.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of OutboundRecipient.
func (OutboundRecipient) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "next_attempt_at"),
		index.Fields("outbound_message_id", "domain"),
	}
}

// Annotations of OutboundRecipient.
func (OutboundRecipient) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("outbound_recipients")}
}

// DeliveryAttempt records one try to deliver to a recipient.
type DeliveryAttempt struct {
	ent.Schema
}

// Mixin of DeliveryAttempt.
func (DeliveryAttempt) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("att"), TimeMixin{}, TenantMixin{}}
}

// Fields of DeliveryAttempt.
func (DeliveryAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("recipient_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Type("ID")),
		field.Enum("result").Values("delivered", "deferred", "bounced", "failed").Immutable(),
		field.Int("smtp_code").Optional().Immutable(),
		field.String("enhanced_code").Default("").Immutable(),
		field.String("response").Default("").Immutable(),
		field.String("remote_mx").Default("").Immutable(),
		field.Bool("tls").Default(false).Immutable(),
		field.Int64("duration_ms").NonNegative().Default(0).Immutable(),
	}
}

// Edges of DeliveryAttempt.
func (DeliveryAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("recipient", OutboundRecipient.Type).
			Ref("attempts_log").
			Field("recipient_id").
			Unique().Required().Immutable(),
	}
}

// Annotations of DeliveryAttempt.
func (DeliveryAttempt) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("delivery_attempts")}
}
