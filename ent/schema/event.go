package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Event is an entry of an organization's append-only event log: written in
// the same transaction as the change it reports, then published to
// subscriptions and webhooks. Its ULID id orders the log and serves as
// the replay cursor.
type Event struct {
	ent.Schema
}

// Mixin of Event.
func (Event) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("evt"), TenantMixin{}}
}

// Fields of Event. The ids it concerns are plain columns, not edges: the
// log outlives the rows it speaks of.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.String("type").NotEmpty().Immutable().
			Comment("For example message.received or message.delivered."),
		field.String("domain_id").GoType(pulid.ID("")).Optional().Immutable(),
		field.String("account_id").GoType(pulid.ID("")).Optional().Immutable(),
		field.String("message_id").GoType(pulid.ID("")).Optional().Immutable(),
		field.String("recipient").Optional().Immutable(),
		field.JSON("payload", map[string]any{}).Optional().Immutable(),
		field.Time("created_at").Immutable().Default(timeNow),
		field.Int64("seq").Optional().Immutable().
			Comment("Position in the log in commit order, set by the database (server/db's " +
				"events_seq trigger): the cursor of subscriptions and webhooks."),
	}
}

// Indexes of Event.
func (Event) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "id"),
		index.Fields("organization_id", "seq"),
		index.Fields("seq").Unique(),
		// The log of one message, for the API.
		index.Fields("message_id"),
	}
}

// Policy of Event: the log is append-only, so nobody but the system
// (retention) updates or deletes entries.
func (Event) Policy() ent.Policy {
	return privacy.Policy{
		Mutation: privacy.MutationPolicy{
			rule.DenyOp(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne),
		},
	}
}

// Annotations of Event.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("events"), entgql.Skip()}
}
