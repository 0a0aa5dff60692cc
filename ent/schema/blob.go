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

// Blob is a raw RFC 5322 message, stored once per organization and
// content hash, and referenced by every mailbox copy and outbound message
// made of it. The bytes are kept by a blob store under key; the database
// store keeps them in BlobContent.
type Blob struct {
	ent.Schema
}

// Mixin of Blob.
func (Blob) Mixin() []ent.Mixin {
	return []ent.Mixin{
		pulid.MixinWithPrefix("blb"),
		TimeMixin{},
		TenantMixin{Options: rule.TenantOptions{AccountOrgWide: true}},
	}
}

// Fields of Blob.
func (Blob) Fields() []ent.Field {
	return []ent.Field{
		field.String("sha256").
			NotEmpty().
			Immutable().
			Comment("Hex SHA-256 of the raw bytes."),
		field.Int64("size").NonNegative().Immutable(),
		field.String("key").
			NotEmpty().
			Immutable().
			Comment("Where the blob store keeps the bytes."),
	}
}

// Indexes of Blob.
func (Blob) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "sha256").Unique(),
	}
}

// Annotations of Blob.
func (Blob) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("blobs"), entgql.Skip()}
}

// BlobContent holds a blob's bytes for the database blob store, apart
// from Blob so that listing blobs never reads message bodies.
type BlobContent struct {
	ent.Schema
}

// Mixin of BlobContent.
func (BlobContent) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("bct")}
}

// Fields of BlobContent.
func (BlobContent) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().Immutable().Unique(),
		field.Bytes("data").Immutable(),
	}
}

// Policy of BlobContent: only the blob store, under the system context,
// reads or writes raw bytes.
func (BlobContent) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyUnlessAdmin()},
		Mutation: privacy.MutationPolicy{rule.DenyUnlessAdmin()},
	}
}

// Annotations of BlobContent.
func (BlobContent) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("blob_contents"), entgql.Skip()}
}
