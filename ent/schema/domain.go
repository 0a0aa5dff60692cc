package schema

import (
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// dnsLabel matches one lower-case DNS label (RFC 1123 §2.1), the form of a
// DKIM selector: it ends up in a DNS name and in the s= tag of signatures.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostPort matches a lower-case host name with an optional port, the
// form of a tracking host: it is the authority of the tracking links.
var hostPort = regexp.MustCompile(`^(` + label + `\.)*` + label + `(:[0-9]{1,5})?$`)

// label is one DNS label of a host name (RFC 1123 §2.1).
const label = `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`

// Domain is a hosted mail domain. Its name is unique across the server:
// one organization owns mail for an FQDN.
type Domain struct {
	ent.Schema
}

// Mixin of Domain.
func (Domain) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("dom"), TimeMixin{}, TenantMixin{}}
}

// Fields of Domain.
func (Domain) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			NotEmpty().
			MaxLen(253).
			Immutable().
			Comment("The fully qualified domain name, lower case, without a trailing dot.").
			Annotations(entgql.OrderField("NAME")),
		field.String("dkim_selector").
			Default("default").
			MaxLen(63).
			Match(dnsLabel).
			Comment("Selector of the active DKIM key: <selector>._domainkey.<name>."),
		field.Bool("verified").
			Default(false).
			Comment("Set once the domain's DNS records were checked.").
			Annotations(serverSet),
		field.String("tls_cert_file").
			Optional().
			Comment("PEM certificate chain served by SNI for this domain; set by the operator.").
			Annotations(serverSet),
		field.String("tls_key_file").
			Optional().
			Comment("PEM private key for tls_cert_file; set by the operator.").
			Annotations(serverSet),
		field.Int("send_limit_per_hour").
			NonNegative().
			Default(0).
			Comment("Most outbound recipients an hour from this domain; 0 means no limit."),
		field.Int("receive_limit_per_minute").
			NonNegative().
			Default(0).
			Comment("Most inbound messages a minute to this domain; 0 means no limit."),
		field.Enum("dmarc_reject_action").
			Values("junk", "reject").
			Default("junk").
			Comment("What inbound mail failing DMARC under p=reject gets."),
		field.Bool("track_opens").
			Default(false).
			Comment("Add an open pixel to the HTML of this domain's mail, unless a message says otherwise."),
		field.Bool("track_clicks").
			Default(false).
			Comment("Point the links in the HTML of this domain's mail at the click endpoint, unless a " +
				"message says otherwise."),
		field.String("tracking_host").
			Optional().
			Match(hostPort).
			Comment("Host name (with an optional :port) of the open and click links, served over HTTPS " +
				"by a proxy to Lightr's HTTP listener; empty means tracking.base_url."),
	}
}

// Edges of Domain.
func (Domain) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("accounts", Account.Type).
			Annotations(
				entgql.RelayConnection(),
				serverSet,
			),
		edge.To("aliases", MailAlias.Type).
			Annotations(serverSet),
		edge.To("dkim_keys", DKIMKey.Type).
			Annotations(entgql.Skip()),
	}
}

// Indexes of Domain.
func (Domain) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name").Unique()}
}

// Annotations of Domain.
func (Domain) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("domains"),
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
