package httpapi

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations nested deeper than Max fields, before any
// resolver runs. gqlgen has a complexity limit but no depth limit.
type depthLimit struct{ Max int }

var (
	_ graphql.HandlerExtension        = depthLimit{}
	_ graphql.OperationContextMutator = depthLimit{}
)

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context,
	op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	if depth := selectionDepth(op.Operation.SelectionSet, op.Doc.Fragments, 0, d.Max); depth > d.Max {
		err := gqlerror.Errorf("operation is nested %d levels deep; the limit is %d", depth, d.Max)
		err.Extensions = map[string]any{"code": CodeDepthLimit}
		return err
	}
	return nil
}

// selectionDepth returns the depth of set, stopping once it passes limit so
// that fragment cycles (which validation also refuses) cannot loop.
func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, depth, limit int) int {
	if depth > limit {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = depth + 1
			} else {
				d = selectionDepth(s.SelectionSet, frags, depth+1, limit)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, depth, limit)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				d = selectionDepth(f.SelectionSet, frags, depth, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// pageLimit is a field middleware for Relay connections: a page larger
// than maxPage is refused, and a connection asked for without first or
// last gets the first pageSize rows instead of the whole table.
func pageLimit(pageSize, maxPage int) graphql.FieldMiddleware {
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if fc == nil || fc.Args == nil {
			return next(ctx)
		}
		first, hasFirst := fc.Args["first"]
		last, hasLast := fc.Args["last"]
		if !hasFirst || !hasLast {
			return next(ctx)
		}
		f, _ := first.(*int)
		l, _ := last.(*int)
		for name, v := range map[string]*int{"first": f, "last": l} {
			if v != nil && (*v < 0 || *v > maxPage) {
				err := gqlerror.Errorf("%s must be between 0 and %d", name, maxPage)
				err.Extensions = map[string]any{"code": CodeBadUserInput}
				return nil, err
			}
		}
		if f == nil && l == nil {
			n := pageSize
			fc.Args["first"] = &n
		}
		return next(ctx)
	}
}

// requestID returns the id of the HTTP request in ctx, or "-".
func requestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return "-"
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}
