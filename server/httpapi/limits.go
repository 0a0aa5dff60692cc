package httpapi

import (
	"context"
	"strconv"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// queryLimits refuses, before any resolver runs, operations nested deeper
// than MaxDepth fields and connections asked for pages larger than
// MaxPage. gqlgen has a complexity limit but neither of these; checking
// pages here rather than in a resolver matters because Ent loads nested
// connections eagerly, before their own resolvers would run.
type queryLimits struct {
	MaxDepth      int
	MaxPage       int
	Introspection bool // allow __schema and __type
}

var (
	_ graphql.HandlerExtension        = queryLimits{}
	_ graphql.OperationContextMutator = queryLimits{}
)

func (queryLimits) ExtensionName() string                   { return "QueryLimits" }
func (queryLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l queryLimits) MutateOperationContext(_ context.Context,
	op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	frags := op.Doc.Fragments
	if depth := selectionDepth(op.Operation.SelectionSet, frags, 0, l.MaxDepth); depth > l.MaxDepth {
		err := gqlerror.Errorf("operation is nested %d levels deep; the limit is %d", depth, l.MaxDepth)
		err.Extensions = map[string]any{"code": CodeDepthLimit}
		return err
	}
	var bad *gqlerror.Error
	walkFields(op.Operation.SelectionSet, frags, 0, func(f *ast.Field) {
		if bad == nil && !l.Introspection && (f.Name == "__schema" || f.Name == "__type") {
			bad = gqlerror.Errorf("introspection is disabled on this server")
			bad.Extensions = map[string]any{"code": CodeBadUserInput}
		}
		if bad != nil || !isConnection(f) {
			return
		}
		args := f.ArgumentMap(op.Variables)
		for _, name := range []string{"first", "last"} {
			n, err := graphql.UnmarshalInt(args[name])
			if args[name] != nil && (err != nil || n < 0 || n > l.MaxPage) {
				bad = gqlerror.Errorf("%s.%s must be between 0 and %d", f.Alias, name, l.MaxPage)
				bad.Extensions = map[string]any{"code": CodeBadUserInput}
				return
			}
		}
	})
	return bad
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

// walkFields calls fn for every field in set, fragments included. Depth is
// bounded by the depth limit's own bound so that cycles cannot loop.
func walkFields(set ast.SelectionSet, frags ast.FragmentDefinitionList, depth int, fn func(*ast.Field)) {
	if depth > 64 {
		return
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			fn(s)
			walkFields(s.SelectionSet, frags, depth+1, fn)
		case *ast.InlineFragment:
			walkFields(s.SelectionSet, frags, depth+1, fn)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				walkFields(f.SelectionSet, frags, depth+1, fn)
			}
		}
	}
}

// isConnection reports whether f is a Relay connection field: one that
// takes both first and last.
func isConnection(f *ast.Field) bool {
	return f.Definition != nil && f.Definition.Arguments.ForName("first") != nil &&
		f.Definition.Arguments.ForName("last") != nil
}

// pagingCache is the parsed-query cache. Before a validated document is
// cached and executed, it gives every connection that names neither first
// nor last an explicit first: pageSize, so that resolvers, Ent's eager
// loading of nested connections and the complexity limit all see the same
// bounded page. The document is changed before anyone else can see it.
type pagingCache struct {
	graphql.Cache[*ast.QueryDocument]
	pageSize int
}

// Add implements graphql.Cache.
func (c pagingCache) Add(ctx context.Context, key string, doc *ast.QueryDocument) {
	size := strconv.Itoa(c.pageSize)
	visit := func(f *ast.Field) {
		if isConnection(f) && f.Arguments.ForName("first") == nil && f.Arguments.ForName("last") == nil {
			f.Arguments = append(f.Arguments, &ast.Argument{
				Name:     "first",
				Value:    &ast.Value{Kind: ast.IntValue, Raw: size, Position: f.Position},
				Position: f.Position,
			})
		}
	}
	for _, op := range doc.Operations {
		walkFields(op.SelectionSet, nil, 0, visit)
	}
	for _, frag := range doc.Fragments {
		walkFields(frag.SelectionSet, nil, 0, visit)
	}
	c.Cache.Add(ctx, key, doc)
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

// transactioner is entgql.Transactioner, made safe for requests that fail
// before an operation exists (a body that is not JSON, or too large):
// entgql's version panics on those, turning a client's mistake into an
// internal error.
type transactioner struct{ entgql.Transactioner }

// InterceptResponse implements graphql.ResponseInterceptor.
func (t transactioner) InterceptResponse(ctx context.Context,
	next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	return t.Transactioner.InterceptResponse(ctx, next)
}
