// Package rule holds the Ent privacy rules that enforce tenant isolation.
//
// Every tenant-owned entity carries an organization_id; the policies here
// filter every query, update and delete by the viewer's organization and
// refuse creates for another organization. They fail closed: without a
// viewer in the context nothing is read or written. Background workers
// that must see every tenant use SystemContext, and only they.
package rule

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent/intercept"
	"github.com/lightr-mail/lightr/ent/viewer"
)

// Column names shared by the tenant-owned tables.
const (
	OrgColumn     = "organization_id"
	AccountColumn = "account_id"
)

// SystemContext returns ctx with every privacy rule bypassed. It is for
// the server's own workers (delivery, webhooks, retention) and for code
// that has already authenticated a principal by other means; never pass
// it a request context that came from a client.
func SystemContext(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// wherer is implemented by every generated mutation, and by the query
// wrappers of the generated intercept package.
type wherer interface {
	WhereP(...func(*sql.Selector))
}

// filter adds column = value to q (a query or a mutation), failing closed
// if q cannot be filtered.
func filter(q any, column string, value any) error {
	w, ok := q.(wherer)
	if !ok {
		if eq, isQuery := q.(ent.Query); isQuery {
			wq, err := intercept.NewQuery(eq)
			if err != nil {
				return privacy.Denyf("rule: %T cannot be filtered: %v", q, err)
			}
			w = wq
		} else {
			return privacy.Denyf("rule: %T cannot be filtered", q)
		}
	}
	w.WhereP(sql.FieldEQ(column, value))
	return privacy.Skip
}

// DenyIfNoViewer refuses any operation without a viewer in the context.
func DenyIfNoViewer() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("rule: no viewer in context")
		}
		return privacy.Skip
	})
}

// DenyUnlessAdmin refuses any operation by a non-admin viewer.
//
// No rule in this package returns privacy.Allow: an Allow would end the
// evaluation of every later policy of the entity (see privacy.Policies),
// so rules only deny or skip, and an operation that no rule denies is
// allowed.
func DenyUnlessAdmin() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx).Admin() {
			return privacy.Skip
		}
		return privacy.Denyf("rule: admin only")
	})
}

// DenyOp refuses mutations of operation op for everyone but the system
// (for example updates of the append-only event log).
func DenyOp(op ent.Op) privacy.MutationRule {
	return privacy.DenyMutationOperationRule(op)
}

// QueryFunc adapts a function to privacy.QueryRule.
type QueryFunc func(context.Context, ent.Query) error

// EvalQuery implements privacy.QueryRule.
func (f QueryFunc) EvalQuery(ctx context.Context, q ent.Query) error { return f(ctx, q) }
