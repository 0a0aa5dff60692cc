package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
)

// timeNow is time.Now, named so that schemas read as data.
func timeNow() time.Time { return time.Now() }

// Template is a stored message template for the send API.
type Template struct {
	ent.Schema
}

// Mixin of Template.
func (Template) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("tpl"), TimeMixin{}, TenantMixin{}}
}

// Fields of Template.
func (Template) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200),
		field.String("subject").Default(""),
		field.Text("text").Default(""),
		field.Text("html").Default(""),
	}
}

// Indexes of Template.
func (Template) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id", "name").Unique()}
}

// Annotations of Template.
func (Template) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("templates"), entgql.Skip()}
}

// APIKey is an opaque, long-lived credential. Only a hash of the secret is
// stored; the prefix identifies the key in listings. A key without an
// organization is a server-wide admin key.
type APIKey struct {
	ent.Schema
}

// Mixin of APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("key"), TimeMixin{}}
}

// Fields of APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("organization_id").GoType(pulid.ID("")).Optional().Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
		field.String("name").NotEmpty().MaxLen(200),
		field.String("prefix").Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
		field.String("secret_hash").Sensitive().Immutable().
			Annotations(entgql.Skip()),
		field.Strings("scopes").Optional(),
		field.Bool("admin").Default(false).Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable().
			Annotations(serverSet),
	}
}

// Edges of APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("organization", Organization.Type).
			Field("organization_id").
			Unique().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput)),
	}
}

// Indexes of APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("secret_hash").Unique()}
}

// Policy of APIKey: a tenant with the keys scope manages its own keys.
func (APIKey) Policy() ent.Policy {
	o := rule.TenantOptions{MutationScope: viewer.ScopeKeys}
	m := append(privacy.MutationPolicy{rule.TenantKeyCreate()}, rule.TenantMutationPolicy(o)...)
	return privacyPolicy(rule.TenantQueryPolicy(o), m)
}

// Annotations of APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("api_keys"),
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// DKIMKey is a domain's DKIM signing key. No API ever returns the private
// key; the public half is published as <selector>._domainkey.<domain>.
type DKIMKey struct {
	ent.Schema
}

// Mixin of DKIMKey.
func (DKIMKey) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("dkk"), TimeMixin{}, TenantMixin{}}
}

// Fields of DKIMKey.
func (DKIMKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("domain_id").GoType(pulid.ID("")).Immutable(),
		field.String("selector").NotEmpty().MaxLen(63).Match(dnsLabel).Immutable(),
		field.Enum("algorithm").Values("rsa", "ed25519").Immutable(),
		field.Bytes("private_key").Sensitive().Immutable().
			Comment("PKCS#8 DER."),
		field.String("public_key").Immutable().
			Comment("Base64 of the p= value of the DNS record."),
		field.Bool("active").Default(true),
	}
}

// Edges of DKIMKey.
func (DKIMKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("domain", Domain.Type).
			Ref("dkim_keys").
			Field("domain_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of DKIMKey.
func (DKIMKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("domain_id", "selector", "algorithm").Unique()}
}

// Annotations of DKIMKey.
func (DKIMKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("dkim_keys"), entgql.Skip()}
}

// Suppression is an address that an organization's mail must not go to:
// after a hard bounce, a complaint or an unsubscribe.
type Suppression struct {
	ent.Schema
}

// Mixin of Suppression.
func (Suppression) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("sup"), TimeMixin{}, TenantMixin{}}
}

// Fields of Suppression.
func (Suppression) Fields() []ent.Field {
	return []ent.Field{
		field.String("address").NotEmpty().MaxLen(320).Immutable(),
		field.Enum("reason").Values("bounce", "complaint", "unsubscribe", "manual"),
		field.String("detail").Default(""),
	}
}

// Indexes of Suppression.
func (Suppression) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id", "address").Unique()}
}

// Annotations of Suppression.
func (Suppression) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("suppressions"), entgql.Skip()}
}
