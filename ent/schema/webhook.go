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
// signed per the Standard Webhooks specification.
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
			Comment("When set, only events of this domain."),
		field.String("description").Default(""),
		field.Bool("active").Default(true),
		field.String("secret").Sensitive().
			Comment("The whsec_ signing secret."),
		field.String("previous_secret").Sensitive().Optional().
			Comment("The secret before the last rotation, also signed with until it expires."),
		field.Time("previous_secret_expires_at").Optional().Nillable(),
		field.Int("consecutive_failures").NonNegative().Default(0),
		field.Time("disabled_at").Optional().Nillable(),
	}
}

// Edges of Webhook.
func (Webhook) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Annotations of Webhook.
func (Webhook) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("webhooks"), entgql.Skip()}
}

// WebhookDelivery is one event queued for, or delivered to, one webhook.
// Its id is the webhook-id header, the same across retries.
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
		field.String("event_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("status").Values("pending", "delivered", "failed").Default("pending"),
		field.Int("attempts").NonNegative().Default(0),
		field.Time("next_attempt_at").Optional().Nillable(),
		field.Int("response_code").Optional(),
		field.String("last_error").Default(""),
		field.String("lease_owner").Default(""),
		field.Time("lease_until").Optional().Nillable(),
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
	return []ent.Index{index.Fields("status", "next_attempt_at")}
}

// Annotations of WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("webhook_deliveries"), entgql.Skip()}
}
