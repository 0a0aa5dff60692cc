//go:build ignore

// This program rewrites gqlgen's generated.go after `go tool gqlgen
// generate`, to take gqlgen's per-field machinery off the paths where it
// does nothing; docs/PERFORMANCE.md has the measurements. It makes two
// changes and writes one table:
//
//   - A field that only reads a struct field of its parent (no resolver,
//     no arguments, no directive) and whose marshaller can neither fail
//     nor yield null is marshalled directly. gqlgen would give it a field
//     context, a context value, a panic handler and a pass through the
//     field middleware, none of which can matter for it: reading a field
//     of a non-nil struct cannot panic, nothing can report an error that
//     would need the field's path, and graph.Use refuses field
//     interceptors. A time field keeps gqlgen's path when it is zero,
//     where the marshaller reports a null.
//   - Lists of objects are marshalled by marshalSlice (slice.go) instead
//     of graphql.MarshalSliceConcurrently. It starts one goroutine per
//     element, as gqlgen does, only when the selection of the elements
//     reaches a field that gqlgen resolves concurrently (a resolver or an
//     edge that may query the database); otherwise it marshals the
//     elements in order, on the caller's goroutine.
//   - concurrent_gen.go lists those concurrent fields, read from the
//     generated object marshallers.
//
// Every pattern is checked: if gqlgen's output changes shape, the program
// fails rather than leaving the code half patched. Run it through `go
// generate ./graph`.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"log"
	"os"
	"slices"
	"sort"
	"strings"
)

// direct lists the marshallers that, given any value, return a non-null
// marshaller without reporting an error, with a fragment their body must
// contain so that a change of gqlgen's templates is noticed.
var direct = map[string]string{
	"marshalNString2string":   "graphql.MarshalString(v)",
	"marshalNBoolean2bool":    "graphql.MarshalBoolean(v)",
	"marshalNInt2int":         "graphql.MarshalInt(v)",
	"marshalNInt2int64":       "graphql.MarshalInt64(v)",
	"marshalNInt2uint32":      "graphql.MarshalUint32(v)",
	"marshalOString2string":   "graphql.MarshalString(v)",
	"marshalOString2ᚖstring":  "graphql.MarshalString(*v)",
	"marshalOString2ᚕstringᚄ": "ec.marshalNString2string(ctx, sel, v[i])",
	"marshalNString2ᚕstringᚄ": "ec.marshalNString2string(ctx, sel, v[i])",
	"marshalOTime2ᚖtimeᚐTime": "graphql.MarshalTime(*v)",
	// Value types that marshal themselves: never a nil interface.
	"marshalNID2githubᚗcomᚋlightrᚑmailᚋlightrᚋentᚋschemaᚋpulidᚐID": "return v",
	"marshalOID2githubᚗcomᚋlightrᚑmailᚋlightrᚋentᚋschemaᚋpulidᚐID": "return v",
	"marshalNCursor2entgoᚗioᚋcontribᚋentgqlᚐCursor":                "return v",
}

// unlessZero lists the marshallers that report a null for a zero time
// and are otherwise direct.
var unlessZero = map[string]string{
	"marshalNTime2timeᚐTime": "graphql.MarshalTime(v)",
}

func main() {
	if err := patch("generated.go", "concurrent_gen.go"); err != nil {
		log.Fatalf("gqlpatch: %v; gqlgen's output changed shape, check graph/gqlpatch.go", err)
	}
}

// edit replaces src[from:to].
type edit struct {
	from, to int
	text     string
}

func patch(path, tablePath string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return err
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	text := func(n ast.Node) string { return string(src[off(n.Pos()):off(n.End())]) }

	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
			funcs[fd.Name.Name] = fd
		}
	}
	for name, frag := range direct {
		if fd := funcs[name]; fd != nil && !strings.Contains(text(fd.Body), frag) {
			return fmt.Errorf("%s no longer contains %q", name, frag)
		}
	}
	for name, frag := range unlessZero {
		if fd := funcs[name]; fd != nil && !strings.Contains(text(fd.Body), frag) {
			return fmt.Errorf("%s no longer contains %q", name, frag)
		}
	}

	var edits []edit
	fields := 0
	for _, fd := range f.Decls {
		fd, ok := fd.(*ast.FuncDecl)
		if !ok || fd.Recv == nil {
			continue
		}
		if body, ok := plainField(fd, text); ok {
			edits = append(edits, edit{off(fd.Body.Lbrace) + 1, off(fd.Body.Rbrace), body})
			fields++
		}
	}
	if fields == 0 || !hasEdit(edits, src, "obj.Subject") {
		return fmt.Errorf("found %d plain fields, and not Message.subject", fields)
	}

	lists := 0
	var listErr error
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || text(call.Fun) != "graphql.MarshalSliceConcurrently" {
				return true
			}
			if !hasParam(fd, "sel", "ast.SelectionSet", text) || len(call.Args) != 5 {
				listErr = fmt.Errorf("%s: MarshalSliceConcurrently without sel or with %d arguments",
					fd.Name.Name, len(call.Args))
				return false
			}
			edits = append(edits, edit{off(call.Fun.Pos()), off(call.Args[1].Pos()),
				"marshalSlice(ctx, sel, "})
			lists++
			return true
		})
		return false
	})
	if listErr != nil {
		return listErr
	}
	if lists == 0 {
		return fmt.Errorf("no MarshalSliceConcurrently to replace")
	}

	objects, err := objectEdits(f, text, off)
	if err != nil {
		return err
	}
	edits = append(edits, objects...)

	table, err := concurrentFields(f, text)
	if err != nil {
		return err
	}

	out, err := apply(src, edits)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	log.Printf("gqlpatch: %d plain fields marshalled directly, %d lists, %d objects",
		fields, lists, len(objects)/2)
	return os.WriteFile(tablePath, table, 0o644)
}

// objectEdits makes every object marshaller of the form
//
//	fields := graphql.CollectFields(ec.OperationContext, sel, ...)
//	out := graphql.NewFieldSet(fields)
//	deferred := graphql.NewDeferredGroup(ctx)
//	...
//	return out
//
// build its deferred group with deferredGroup and return an object
// (object.go) in place of the field set.
func objectEdits(f *ast.File, text func(ast.Node) string, off func(token.Pos) int) ([]edit, error) {
	var edits []edit
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		// Root types (no obj) are marshalled once per operation.
		if !ok || fd.Recv == nil || fd.Body == nil || len(fd.Body.List) < 4 ||
			!hasParam(fd, "obj", "", text) {
			continue
		}
		list := fd.Body.List
		if !strings.HasPrefix(text(list[0]), "fields := graphql.CollectFields(") {
			continue
		}
		if text(list[1]) != "out := graphql.NewFieldSet(fields)" ||
			text(list[2]) != "deferred := graphql.NewDeferredGroup(ctx)" ||
			text(list[len(list)-1]) != "return out" {
			return nil, fmt.Errorf("%s: object marshaller of an unknown shape", fd.Name.Name)
		}
		edits = append(edits,
			edit{off(list[2].Pos()), off(list[2].End()), "deferred := deferredGroup(ctx, fields)"},
			edit{off(list[len(list)-1].Pos()), off(list[len(list)-1].End()),
				"return object{fields: fields, values: out.Values}"})
	}
	if len(edits) == 0 {
		return nil, fmt.Errorf("no object marshallers found")
	}
	return edits, nil
}

// plainField returns the new body of a field marshaller of the form
//
//	return graphql.ResolveField(ctx, ec.OperationContext, field, <context>,
//		func(ctx context.Context) (any, error) { return obj.F, nil },
//		nil, func(ctx context.Context, selections ast.SelectionSet, v T) graphql.Marshaler {
//			return ec.M(ctx, selections, v)
//		}, true, <non-null>)
//
// when M is one of the direct marshallers.
func plainField(fd *ast.FuncDecl, text func(ast.Node) string) (string, bool) {
	if len(fd.Body.List) != 1 || !hasParam(fd, "obj", "", text) {
		return "", false
	}
	ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return "", false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || text(call.Fun) != "graphql.ResolveField" || len(call.Args) != 9 {
		return "", false
	}
	if text(call.Args[5]) != "nil" || text(call.Args[7]) != "true" {
		return "", false // a directive, or no panic handler
	}
	value := returned(call.Args[4], text)
	if len(value) != 2 || value[1] != "nil" || !isObjField(value[0]) {
		return "", false // a resolver, a method or an argument
	}
	m := returned(call.Args[6], text)
	if len(m) != 1 || !strings.HasPrefix(m[0], "ec.marshal") ||
		!strings.HasSuffix(m[0], "(ctx, selections, v)") {
		return "", false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(m[0], "ec."), "(ctx, selections, v)")
	marshal := fmt.Sprintf("ec.%s(ctx, field.Selections, %s)", name, value[0])
	if _, ok := direct[name]; ok {
		return "\n\treturn " + marshal + "\n", true
	}
	if _, ok := unlessZero[name]; ok {
		// gqlgen's path, for the null it reports with the field's path.
		return fmt.Sprintf("\n\tif !%s.IsZero() {\n\t\treturn %s\n\t}\n\t%s\n",
			value[0], marshal, text(ret)), true
	}
	return "", false
}

// returned returns the results of a function literal whose body is one
// return statement.
func returned(e ast.Expr, text func(ast.Node) string) []string {
	lit, ok := e.(*ast.FuncLit)
	if !ok || len(lit.Body.List) != 1 {
		return nil
	}
	ret, ok := lit.Body.List[0].(*ast.ReturnStmt)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range ret.Results {
		out = append(out, text(r))
	}
	return out
}

// isObjField reports whether s is obj.Name, a plain field read.
func isObjField(s string) bool {
	name, ok := strings.CutPrefix(s, "obj.")
	if !ok || name == "" {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// hasParam reports whether fd has a parameter called name, of type typ
// unless typ is empty.
func hasParam(fd *ast.FuncDecl, name, typ string, text func(ast.Node) string) bool {
	for _, p := range fd.Type.Params.List {
		for _, n := range p.Names {
			if n.Name == name && (typ == "" || text(p.Type) == typ) {
				return true
			}
		}
	}
	return false
}

func hasEdit(edits []edit, src []byte, frag string) bool {
	return slices.ContainsFunc(edits, func(e edit) bool { return strings.Contains(e.text, frag) })
}

// apply makes the edits, which must not overlap, and formats the result.
func apply(src []byte, edits []edit) ([]byte, error) {
	sort.Slice(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	var b bytes.Buffer
	last := 0
	for _, e := range edits {
		if e.from < last {
			return nil, fmt.Errorf("overlapping edits at offset %d", e.from)
		}
		b.Write(src[last:e.from])
		b.WriteString(e.text)
		last = e.to
	}
	b.Write(src[last:])
	return format.Source(b.Bytes())
}

// concurrentFields returns the source of concurrent_gen.go: for every
// object type, the fields that its generated marshaller (func _Type)
// schedules with ResolveConcurrently or ResolveRootConcurrently.
func concurrentFields(f *ast.File, text func(ast.Node) string) ([]byte, error) {
	types := map[string][]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		// Object marshallers are func _Type(ctx, sel, obj); field
		// marshallers take a field, not a selection.
		if !ok || fd.Recv == nil || !strings.HasPrefix(fd.Name.Name, "_") ||
			!hasParam(fd, "sel", "ast.SelectionSet", text) || !hasParam(fd, "obj", "", text) {
			continue
		}
		typ := fd.Name.Name[1:]
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok || len(cc.List) != 1 {
				return true
			}
			lit, ok := cc.List[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			for _, s := range cc.Body {
				var p bytes.Buffer
				_ = printer.Fprint(&p, token.NewFileSet(), s)
				if strings.Contains(p.String(), "Concurrently(") {
					types[typ] = append(types[typ], strings.Trim(lit.Value, `"`))
					break
				}
			}
			return true
		})
	}
	if !slices.Contains(types["Message"], "headers") || slices.Contains(types["Message"], "subject") {
		return nil, fmt.Errorf("concurrent fields of Message not recognised: %v", types["Message"])
	}

	var b bytes.Buffer
	b.WriteString("// Code generated by graph/gqlpatch.go, DO NOT EDIT.\n\npackage graph\n\n")
	b.WriteString("func init() {\n\tsetConcurrent(map[string]map[string]bool{\n")
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		fmt.Fprintf(&b, "\t%q: {", t)
		fs := types[t]
		sort.Strings(fs)
		for i, name := range fs {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q: true", name)
		}
		b.WriteString("},\n")
	}
	b.WriteString("})\n}\n")
	return format.Source(b.Bytes())
}
