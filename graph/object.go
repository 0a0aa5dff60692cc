package graph

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// deferredGroup stands in for graphql.NewDeferredGroup at the top of each
// generated object marshaller (see gqlpatch.go). gqlgen builds a group
// for every object, computing the object's full path and allocating a
// field set and a map, though only fields under @defer use it. When none
// of fields is deferred, the empty group does: ResolveConcurrently reads
// it only for deferred fields, and an empty Defers is never processed.
func deferredGroup(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for i := range fields {
		if fields[i].IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{Context: ctx}
}

// object writes the JSON object of a generated object marshaller's
// fields and values, as graphql.FieldSet does: in order, a field whose
// alias came before left out. gqlgen's version allocates a map and a
// copy of every field per object; the fields of one object are few, so
// looking back through them costs less.
type object struct {
	fields []graphql.CollectedField
	values []graphql.Marshaler
}

// MarshalGQL implements graphql.Marshaler.
func (o object) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, "{")
	first := true
	for i := range o.fields {
		alias := o.fields[i].Alias
		if o.seen(i, alias) {
			continue
		}
		if !first {
			_, _ = io.WriteString(w, ",")
		}
		first = false
		// An alias is a GraphQL name, [_A-Za-z][_0-9A-Za-z]*: nothing
		// to escape.
		_, _ = io.WriteString(w, `"`)
		_, _ = io.WriteString(w, alias)
		_, _ = io.WriteString(w, `":`)
		o.values[i].MarshalGQL(w)
	}
	_, _ = io.WriteString(w, "}")
}

// seen reports whether a field before i has alias.
func (o object) seen(i int, alias string) bool {
	for j := range i {
		if o.fields[j].Alias == alias {
			return true
		}
	}
	return false
}
