package schema

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"

	"entgo.io/ent"
	"entgo.io/ent/privacy"

	gen "github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/organization"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
)

// ErrCrossTenantLink is returned when a mutation would link rows of two
// organizations.
var ErrCrossTenantLink = errors.New("schema: link to a row of another organization")

// Hooks implements ent.Mixin: on create the organization comes from the
// viewer (or, for the admin and the system, from the rows linked to), and
// no mutation may link rows of two organizations. Filter rules alone do not
// guard creates and edge changes, so these hooks do.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				if err := guardTenant(ctx, m); err != nil {
					return nil, err
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// rawQuerier is implemented by every generated mutation (sql/execquery).
type rawQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

// guardTenant sets the organization of a create and checks every edge the
// mutation adds against the organization of the rows it changes.
func guardTenant(ctx context.Context, m ent.Mutation) error {
	q, ok := m.(rawQuerier)
	if !ok {
		return fmt.Errorf("schema: %T cannot check tenancy", m)
	}
	owners, err := mutationOrgs(ctx, m, q)
	if err != nil {
		return err
	}
	for _, name := range m.AddedEdges() {
		for _, id := range m.AddedIDs(name) {
			target := pulid.ID(idOf(id))
			org, err := orgOf(ctx, q, target)
			if err != nil {
				return err
			}
			for _, owner := range owners {
				if org != owner {
					return privacy.Denyf("%w: %s", ErrCrossTenantLink, name)
				}
			}
		}
	}
	return nil
}

// mutationOrgs returns the organizations of the rows m writes. For a
// create without one it fills it in first.
func mutationOrgs(ctx context.Context, m ent.Mutation, q rawQuerier) ([]pulid.ID, error) {
	if m.Op().Is(ent.OpCreate) {
		org, err := createOrg(ctx, m, q)
		return []pulid.ID{org}, err
	}
	if len(m.AddedEdges()) == 0 {
		return nil, nil
	}
	idm, ok := m.(interface {
		IDs(context.Context) ([]pulid.ID, error)
	})
	if !ok {
		return nil, fmt.Errorf("schema: %T has no IDs", m)
	}
	ids, err := idm.IDs(ctx)
	if err != nil {
		return nil, err
	}
	var orgs []pulid.ID
	for _, id := range ids {
		org, err := orgOf(ctx, q, id)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, org)
	}
	return orgs, nil
}

// createOrg returns the organization of a create, setting it when the
// mutation names none: a tenant's own, or else that of a linked row.
func createOrg(ctx context.Context, m ent.Mutation, q rawQuerier) (pulid.ID, error) {
	if v, ok := m.Field(rule.OrgColumn); ok {
		return pulid.ID(idOf(v)), nil
	}
	org := viewer.FromContext(ctx).OrgIDOrEmpty()
	for _, name := range m.AddedEdges() {
		if org != "" {
			break
		}
		for _, id := range m.AddedIDs(name) {
			if o, err := orgOf(ctx, q, pulid.ID(idOf(id))); err == nil {
				org = o
				break
			}
		}
	}
	if org == "" {
		return "", fmt.Errorf("schema: %s needs an organization", m.Type())
	}
	if err := m.SetField(rule.OrgColumn, org); err != nil {
		return "", err
	}
	return org, nil
}

// orgOf returns the organization that owns the row with the given id.
func orgOf(ctx context.Context, q rawQuerier, id pulid.ID) (pulid.ID, error) {
	table, err := gen.TableOf(id)
	if err != nil {
		return "", privacy.Denyf("schema: unknown id %q", id)
	}
	if table == organization.Table {
		return id, checkExists(ctx, q, table, id)
	}
	// The table name comes from generated code, never from input.
	rows, err := q.QueryContext(ctx,
		"SELECT organization_id FROM "+table+" WHERE id = ?", string(id))
	if err != nil {
		return "", fmt.Errorf("schema: owner of %s: %w", id, err)
	}
	defer rows.Close()
	var org stdsql.NullString
	if rows.Next() {
		if err := rows.Scan(&org); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if !org.Valid || org.String == "" {
		return "", &gen.NotFoundError{}
	}
	return pulid.ID(org.String), nil
}

// checkExists returns a not-found error unless table has a row id.
func checkExists(ctx context.Context, q rawQuerier, table string, id pulid.ID) error {
	rows, err := q.QueryContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", string(id))
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return &gen.NotFoundError{}
	}
	return rows.Err()
}

// idOf returns the string form of an id value.
func idOf(v ent.Value) string {
	switch id := v.(type) {
	case pulid.ID:
		return string(id)
	case string:
		return id
	case *pulid.ID:
		if id != nil {
			return string(*id)
		}
	}
	return ""
}
