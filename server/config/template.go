package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// templateHeader opens the file written by WriteTemplate.
const templateHeader = `# Lightr configuration.
#
# Every key is listed with its default value. Any key can also be set with an
# environment variable, LIGHTR_ and the key in capitals with dots replaced by
# underscores (http.addr is LIGHTR_HTTP_ADDR; lists are comma-separated), or
# with a command-line flag such as --http-addr. Flags take precedence over the
# environment, and the environment over this file. Relative paths are
# relative to the directory of this file.
`

// WriteTemplate writes to w a commented lightr.yaml, as `lightr init`
// creates it: every key with its default value, or its value in overrides,
// below a one-line description taken from the comment on its Config field.
// Secrets are written commented out, unless overrides sets them or their
// K_file key, so that they stay out of the file by default. Overrides are
// keyed like "http.addr"; an unknown key is an error. Load reads the output
// back into the same Config.
func WriteTemplate(w io.Writer, overrides map[string]any) error {
	s, err := loadSchema()
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if s.leaves[k] == nil && s.fileKeys[k] == nil {
			return fmt.Errorf("config: template: unknown key %q", k)
		}
	}

	def := reflect.ValueOf(Default()).Elem()
	var b bytes.Buffer
	b.WriteString(templateHeader)
	for _, e := range s.entries {
		indent := strings.Repeat("  ", e.depth)
		if e.depth == 0 {
			b.WriteString("\n")
		}
		doc := e.doc
		if len(e.oneof) > 0 {
			doc += " One of: " + strings.Join(e.oneof, ", ") + "."
		}
		fmt.Fprintf(&b, "%s# %s\n", indent, doc)
		if e.secret {
			fmt.Fprintf(&b, "%s# Secret: keep it out of this file; prefer %s%s or %s.\n",
				indent, e.name, fileSuffix, EnvName(e.key))
		}
		if e.section {
			fmt.Fprintf(&b, "%s%s:\n", indent, e.name)
			continue
		}

		val, set := overrides[e.key]
		if !set {
			val = def.FieldByIndex(e.index).Interface()
		}
		if err := writeLine(&b, indent, e.name, val, set || !e.secret); err != nil {
			return fmt.Errorf("config: template: %s: %w", e.key, err)
		}
		if e.secret {
			fileKey := e.key + fileSuffix
			fmt.Fprintf(&b, "%s# File whose trimmed content is %s (or set %s).\n",
				indent, e.name, EnvName(fileKey))
			val, set := overrides[fileKey]
			if !set {
				val = ""
			}
			if err := writeLine(&b, indent, e.name+fileSuffix, val, set); err != nil {
				return fmt.Errorf("config: template: %s: %w", fileKey, err)
			}
		}
	}
	_, err = w.Write(b.Bytes())
	return err
}

// writeLine writes "name: value" to b, commented out unless active.
func writeLine(b *bytes.Buffer, indent, name string, val any, active bool) error {
	text, err := yamlValue(val)
	if err != nil {
		return err
	}
	if !active {
		indent += "# "
	}
	fmt.Fprintf(b, "%s%s: %s\n", indent, name, text)
	return nil
}

// yamlValue formats v as a YAML flow value. JSON is valid YAML, and
// quoting every string keeps values such as "on" or "1.10" strings.
func yamlValue(v any) (string, error) {
	switch d := v.(type) {
	case time.Duration, []time.Duration:
		v = display(d)
	}
	switch rv := reflect.ValueOf(v); {
	case rv.Kind() == reflect.Slice && rv.IsNil():
		return "[]", nil
	case rv.Kind() == reflect.Map && rv.IsNil():
		return "{}", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
