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

// Webhook is an HTTP endpoint that receives an organization's events,
// signed per the Standard Webhooks specification. jobs/webhooks creates,
// changes and serves it; the API never returns its secrets.
type Webhook struct {
	ent.Schema
}

// Mixin of Webhook.
func (Webhook) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("whk"), TimeMixin{}, TenantMixin{}}
}

// Fields of Webhook.
func (Webhook) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").NotEmpty().MaxLen(2048),
		field.Strings("event_types").Optional().
			Comment("Event types delivered; empty means all."),
		field.String("domain_id").GoType(pulid.ID("")).Optional().
			Comment("When set, only events of this domain.").
			Annotations(entgql.Type("ID")),
		field.String("description").Default("").MaxLen(500),
		field.Bool("active").Default(true),
		field.String("secret").Sensitive().
			Comment("The whsec_ signing secret.").
			Annotations(entgql.Skip()),
		field.String("previous_secret").Sensitive().Optional().
			Comment("The secret before the last rotation, also signed with until it expires.").
			Annotations(entgql.Skip()),
		field.Time("previous_secret_expires_at").Optional().Nillable().
			Annotations(serverSet),
		field.Int("consecutive_failures").NonNegative().Default(0).
			Annotations(serverSet),
		field.Time("failing_since").Optional().Nillable().
			Comment("The first failed attempt since the last success.").
			Annotations(serverSet),
		field.Time("disabled_at").Optional().Nillable().
			Comment("When Lightr disabled the endpoint for failing.").
			Annotations(serverSet),
		field.Int64("cursor_seq").Default(0).
			Comment("The seq of the last event turned into deliveries for this endpoint.").
			Annotations(entgql.Skip()),
	}
}

// Edges of Webhook.
func (Webhook) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput|entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of Webhook.
func (Webhook) Indexes() []ent.Index {
	return []ent.Index{index.Fields("active")}
}

// Annotations of Webhook.
func (Webhook) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("webhooks"),
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// WebhookDelivery is one event queued for, or delivered to, one webhook:
// the delivery log. Its id is the webhook-id header, the same across
// retries, and its body is fixed when it is queued.
type WebhookDelivery struct {
	ent.Schema
}

// Mixin of WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("whd"), TimeMixin{}, TenantMixin{}}
}

// Fields of WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("webhook_id").GoType(pulid.ID("")).Immutable(),
		field.String("event_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Type("ID")),
		field.String("event_type").Default("").Immutable(),
		field.Int64("event_seq").Default(0).Immutable().
			Comment("The event's position in the log, the envelope's cursor."),
		field.Bytes("body").Optional().Immutable().
			Comment("The JSON envelope, signed as it is at every attempt.").
			Annotations(entgql.Skip()),
		field.Enum("status").Values("pending", "delivered", "failed").Default("pending").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("attempts").NonNegative().Default(0),
		field.Time("next_attempt_at").Optional().Nillable(),
		field.Time("last_attempt_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		field.Int("response_code").Optional().
			Comment("The HTTP status of the last attempt; 0 when none came."),
		field.Int("latency_ms").Optional().
			Comment("How long the last attempt took, in milliseconds."),
		field.String("last_error").Default(""),
		field.String("lease_owner").Default("").
			Annotations(entgql.Skip()),
		field.Time("lease_until").Optional().Nillable().
			Annotations(entgql.Skip()),
	}
}

// Edges of WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("webhook", Webhook.Type).
			Ref("deliveries").
			Field("webhook_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "next_attempt_at"),
		index.Fields("webhook_id", "event_seq"),
	}
}

// Annotations of WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("webhook_deliveries"),
		entgql.RelayConnection(),
	}
}
