package config

import (
	_ "embed"
	"encoding"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"sync"
	"time"
)

// configSource is the source of the Config types. The field comments in it
// are the key descriptions written by WriteTemplate, so the template cannot
// drift from the struct.
//
//go:embed config.go
var configSource []byte

// fileSuffix turns a secret key K into the key K_file naming a file that
// holds the secret.
const fileSuffix = "_file"

// entry describes one key of Config: a section (a nested struct) or a leaf
// holding a value.
type entry struct {
	key     string // dotted key, such as "http.addr"
	name    string // last element of key
	depth   int    // number of enclosing sections
	section bool
	index   []int // field index path from Config, for FieldByIndex
	typ     reflect.Type
	doc     string
	secret  bool
	path    bool
	oneof   []string
	checks  []string
}

// schema is the list of keys derived from Config by reflection.
type schema struct {
	entries  []*entry          // sections and leaves in declaration order
	leaves   map[string]*entry // leaf key -> entry
	sections map[string]bool   // section keys
	fileKeys map[string]*entry // "K_file" -> secret leaf K
	flags    map[string]string // flag name -> key
}

// loadSchema builds the schema of Config once.
var loadSchema = sync.OnceValues(func() (*schema, error) {
	docs, err := fieldDocs(configSource)
	if err != nil {
		return nil, err
	}
	s := &schema{
		leaves:   map[string]*entry{},
		sections: map[string]bool{},
		fileKeys: map[string]*entry{},
		flags:    map[string]string{},
	}
	if err := s.add(reflect.TypeFor[Config](), "", nil, 0, docs); err != nil {
		return nil, err
	}
	if err := s.buildIndex(); err != nil {
		return nil, err
	}
	return s, nil
})

// fieldDocs returns the comment of every struct field declared in src,
// keyed by "Type.Field" and joined into one line.
func fieldDocs(src []byte) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("config: parse field docs: %w", err)
	}
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, fld := range st.Fields.List {
			doc := strings.Join(strings.Fields(fld.Doc.Text()), " ")
			for _, name := range fld.Names {
				docs[ts.Name.Name+"."+name.Name] = doc
			}
		}
		return false
	})
	return docs, nil
}

// add appends the fields of struct type t, found at index path parent and
// key prefix, to s.
func (s *schema) add(t reflect.Type, prefix string, parent []int, depth int,
	docs map[string]string) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("mapstructure")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" || strings.ContainsAny(name, ",.") {
			return fmt.Errorf("config: field %s.%s: bad mapstructure tag %q",
				t.Name(), sf.Name, name)
		}
		e := &entry{
			key:   prefix + name,
			name:  name,
			depth: depth,
			index: append(append([]int(nil), parent...), i),
			typ:   sf.Type,
			doc:   docs[t.Name()+"."+sf.Name],
		}
		if e.doc == "" {
			return fmt.Errorf("config: field %s.%s has no doc comment", t.Name(), sf.Name)
		}
		if isSection(sf.Type) {
			e.section = true
			s.entries = append(s.entries, e)
			if err := s.add(sf.Type, e.key+".", e.index, depth+1, docs); err != nil {
				return err
			}
			continue
		}
		if err := e.parseTags(sf.Tag); err != nil {
			return fmt.Errorf("config: field %s.%s: %w", t.Name(), sf.Name, err)
		}
		s.entries = append(s.entries, e)
	}
	return nil
}

// isSection reports whether a field of type t is a section of keys rather
// than a single value. Structs that decode themselves from text, such as
// netip.Addr, are values.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct &&
		!reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// parseTags reads the validation and handling tags of a leaf.
func (e *entry) parseTags(tag reflect.StructTag) error {
	switch e.typ.Kind() {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int64, reflect.Int32,
		reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Float64,
		reflect.Slice, reflect.Map, reflect.Struct:
	default:
		return fmt.Errorf("unsupported type %s", e.typ)
	}
	e.secret = tag.Get("secret") == "true"
	if e.secret && e.typ.Kind() != reflect.String {
		return fmt.Errorf("secret on %s, want string", e.typ)
	}
	e.path = tag.Get("path") == "true"
	if e.path && e.typ != reflect.TypeFor[string]() && e.typ != reflect.TypeFor[[]string]() {
		return fmt.Errorf("path on %s, want string or []string", e.typ)
	}
	e.oneof = strings.Fields(tag.Get("oneof"))
	if c := tag.Get("check"); c != "" {
		e.checks = strings.Split(c, ",")
	}
	for _, c := range e.checks {
		if _, ok := checks[c]; !ok {
			return fmt.Errorf("unknown check %q", c)
		}
	}
	return nil
}

// buildIndex fills the lookup maps of s and rejects keys that would collide as
// K_file keys or flag names.
func (s *schema) buildIndex() error {
	for _, e := range s.entries {
		if e.section {
			s.sections[e.key] = true
			continue
		}
		s.leaves[e.key] = e
		if e.secret {
			s.fileKeys[e.key+fileSuffix] = e
		}
	}
	for k := range s.fileKeys {
		if s.leaves[k] != nil || s.sections[k] {
			return fmt.Errorf("config: key %s clashes with the file key of a secret", k)
		}
	}
	for _, k := range s.keys() {
		for _, name := range flagNames(k) {
			if other, ok := s.flags[name]; ok && other != k {
				return fmt.Errorf("config: keys %s and %s share flag --%s", other, k, name)
			}
			s.flags[name] = k
		}
	}
	return nil
}

// keys returns every key that holds a value: the leaves and the K_file keys
// of secrets, in declaration order.
func (s *schema) keys() []string {
	var keys []string
	for _, e := range s.entries {
		if e.section {
			continue
		}
		keys = append(keys, e.key)
		if e.secret {
			keys = append(keys, e.key+fileSuffix)
		}
	}
	return keys
}

// flagNames returns the flag names bound to key without an annotation: the
// key with dots replaced by '-', and with underscores replaced as well.
func flagNames(key string) []string {
	a := strings.ReplaceAll(key, ".", "-")
	b := strings.ReplaceAll(a, "_", "-")
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// EnvName returns the environment variable that sets key, such as
// LIGHTR_HTTP_ADDR for http.addr.
func EnvName(key string) string {
	return "LIGHTR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// formatDuration formats d like time.Duration.String but drops zero
// minutes and seconds, so 24h0m0s reads as 24h.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
