package graph

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
)

func TestReachesConcurrent(t *testing.T) {
	message := &ast.Definition{Kind: ast.Object, Name: "Message"}
	node := &ast.Definition{Kind: ast.Interface, Name: "Node"}
	field := func(def *ast.Definition, name string, sub ...ast.Selection) *ast.Field {
		return &ast.Field{Name: name, Alias: name, ObjectDefinition: def, SelectionSet: sub}
	}
	tests := []struct {
		name string
		sel  ast.SelectionSet
		want bool
	}{
		{"columns only", ast.SelectionSet{field(message, "id"), field(message, "subject")}, false},
		{"a resolver", ast.SelectionSet{field(message, "id"), field(message, "headers")}, true},
		{"an edge below", ast.SelectionSet{field(nil, "node", field(message, "mailbox"))}, true},
		{"in a fragment", ast.SelectionSet{&ast.InlineFragment{
			SelectionSet: ast.SelectionSet{field(message, "textBody")}}}, true},
		{"on an interface", ast.SelectionSet{field(node, "headers")}, true},
		{"unresolved spread", ast.SelectionSet{&ast.FragmentSpread{Name: "f"}}, true},
	}
	for _, tc := range tests {
		if got := reachesConcurrent(tc.sel, 0); got != tc.want {
			t.Errorf("%s: reachesConcurrent = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// In order, each element still gets its index in its field context, and
// a panic nulls only its own element.
func TestMarshalSlice_InOrder(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(),
		graphql.DefaultErrorPresenter, func(context.Context, any) error { return errors.New("boom") })
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{})
	var indexes []int
	got := marshalSlice(ctx, nil, 3, 16, false, func(ctx context.Context, i int) graphql.Marshaler {
		indexes = append(indexes, *graphql.GetFieldContext(ctx).Index)
		if i == 1 {
			panic("element 1")
		}
		return graphql.MarshalInt(i)
	})
	var b bytes.Buffer
	got.MarshalGQL(&b)
	if b.String() != "[0,null,2]" || len(indexes) != 3 || indexes[2] != 2 {
		t.Errorf("got %s, indexes %v; want [0,null,2], [0 1 2]", b.String(), indexes)
	}
	if errs := graphql.GetErrors(ctx); len(errs) != 1 || errs[0].Path.String() != "[1]" {
		t.Errorf("errors = %v, want one at path [1]", errs)
	}
}

type fieldCounter struct{}

func (fieldCounter) ExtensionName() string                   { return "fieldCounter" }
func (fieldCounter) Validate(graphql.ExecutableSchema) error { return nil }
func (fieldCounter) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}

func TestUse_RefusesFieldInterceptors(t *testing.T) {
	srv := handler.New(NewSchema(&Resolver{}, 10))
	defer func() {
		if recover() == nil {
			t.Error("Use accepted a field interceptor")
		}
	}()
	Use(srv, fieldCounter{})
}
