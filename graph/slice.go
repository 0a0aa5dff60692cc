package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// marshalSlice marshals the n elements of a list of objects, each with
// the selection sel. It stands in for graphql.MarshalSliceConcurrently in
// generated.go (see gqlpatch.go) and takes the same arguments but sel.
//
// gqlgen marshals every element on its own goroutine, so that resolvers
// that wait on the database overlap. When sel reaches no such field, the
// elements only copy values out of structs already loaded; the goroutines
// then cost more than the work they share (their stack growth alone was
// 5% of the CPU of a page of messages, docs/PERFORMANCE.md), and the
// elements are marshaled in order. Either way each element gets its own field context, so error
// paths carry its index, and a panic turns only that element into null.
func marshalSlice(ctx context.Context, sel ast.SelectionSet, n int, workerLimit int64,
	omitPanicHandler bool, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if n > 1 && reachesConcurrent(sel, 0) {
		return graphql.MarshalSliceConcurrently(ctx, n, workerLimit, omitPanicHandler, marshal)
	}
	ret := make(graphql.Array, n)
	for i := range n {
		ret[i] = marshalElement(ctx, i, omitPanicHandler, marshal)
	}
	return ret
}

// marshalElement marshals element i of a list in its own field context.
func marshalElement(ctx context.Context, i int, omitPanicHandler bool,
	marshal func(ctx context.Context, i int) graphql.Marshaler) (ret graphql.Marshaler) {
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(ctx, graphql.Recover(ctx, r))
				ret = graphql.Null
			}
		}()
	}
	return marshal(ctx, i)
}

// concurrent lists, by object type, the fields that gqlgen resolves
// concurrently: resolvers, and edges that may query the database.
// concurrentAnywhere holds every field name that is concurrent on some
// type, for selections on interfaces and unions. concurrent_gen.go sets
// both.
var (
	concurrent         map[string]map[string]bool
	concurrentAnywhere map[string]bool
)

// setConcurrent sets concurrent and concurrentAnywhere.
func setConcurrent(byType map[string]map[string]bool) {
	anywhere := map[string]bool{}
	for _, fields := range byType {
		for f := range fields {
			anywhere[f] = true
		}
	}
	concurrent = byType
	concurrentAnywhere = anywhere
}

// reachesConcurrent reports whether sel, at any depth and through
// fragments, selects a field that gqlgen resolves concurrently. Validation
// has refused fragment cycles; the depth bound is only a guard.
func reachesConcurrent(sel ast.SelectionSet, depth int) bool {
	if depth > 64 {
		return true
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if isConcurrent(s) || reachesConcurrent(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if reachesConcurrent(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || reachesConcurrent(s.Definition.SelectionSet, depth+1) {
				return true
			}
		}
	}
	return false
}

// isConcurrent reports whether gqlgen resolves f concurrently. A field of
// an interface or union counts if it is concurrent on any type.
func isConcurrent(f *ast.Field) bool {
	def := f.ObjectDefinition
	if def == nil || def.Kind != ast.Object {
		return concurrentAnywhere[f.Name]
	}
	return concurrent[def.Name][f.Name]
}
