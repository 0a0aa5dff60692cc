package graph

import (
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"

	"entgo.io/contrib/entgql"
)

// NewSchema returns the executable schema with the cost of every
// connection set to its page size times the cost of one node, so that the
// complexity limit bounds the rows a query can ask for. pageSize is the
// size of a page when the query names neither first nor last.
func NewSchema(r *Resolver, pageSize int) graphql.ExecutableSchema {
	cfg := Config{Resolvers: r}
	c := &cfg.Complexity
	cost := func(child int, first, last *int) int {
		n := pageSize
		switch {
		case first != nil:
			n = *first
		case last != nil:
			n = *last
		}
		return 1 + max(n, 1)*child
	}
	type cur = *entgql.Cursor[pulid.ID]

	c.Query.Organizations = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.OrganizationOrder, _ *ent.OrganizationWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Domains = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.DomainOrder, _ *ent.DomainWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Accounts = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.AccountOrder, _ *ent.AccountWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Aliases = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.AliasOrder, _ *ent.AliasWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Mailboxes = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.MailboxOrder, _ *ent.MailboxWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Messages = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.MessageOrder, _ *ent.MessageWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.APIKeys = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.APIKeyOrder, _ *ent.APIKeyWhereInput) int {
		return cost(ch, f, l)
	}
	c.Domain.Accounts = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.AccountOrder, _ *ent.AccountWhereInput) int {
		return cost(ch, f, l)
	}
	c.Mailbox.Messages = func(ch int, _ cur, f *int, _ cur, l *int,
		_ *ent.MessageOrder, _ *ent.MessageWhereInput) int {
		return cost(ch, f, l)
	}
	c.Query.Nodes = func(ch int, ids []pulid.ID) int {
		return 1 + max(len(ids), 1)*ch
	}
	blob := func(int) int { return blobFieldCost }
	c.Message.Headers, c.Message.TextBody, c.Message.HTMLBody = blob, blob, blob
	return contentSchema{NewExecutableSchema(cfg)}
}

// Use adds ext to srv, refusing a field interceptor (an around-fields
// middleware): generated.go marshals plain fields without gqlgen's field
// middleware (see gqlpatch.go), so an interceptor would not see them, and
// running one for every field of every row would cost more than the
// fields themselves. Add every extension through Use.
func Use(srv *handler.Server, ext graphql.HandlerExtension) {
	if _, ok := ext.(graphql.FieldInterceptor); ok {
		panic(fmt.Sprintf("graph: %s is a field interceptor, which the generated code bypasses",
			ext.ExtensionName()))
	}
	srv.Use(ext)
}
