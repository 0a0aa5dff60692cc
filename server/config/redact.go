package config

import (
	"log/slog"
	"reflect"
)

// redacted replaces the value of a secret in output.
const redacted = "[redacted]"

// Redacted returns the configuration as nested maps keyed like lightr.yaml,
// for `lightr config show` and logs. Secret values that are set read
// "[redacted]"; unset ones stay empty so the output still tells whether a
// secret was configured. Durations are strings such as "30s".
func (c *Config) Redacted() map[string]any {
	s, err := loadSchema()
	if err != nil {
		// The schema is checked by the tests; without it there is nothing
		// safe to show.
		return map[string]any{"error": err.Error()}
	}
	root := reflect.ValueOf(c).Elem()
	flat := map[string]any{}
	for _, e := range s.entries {
		if e.section {
			continue
		}
		val := display(root.FieldByIndex(e.index).Interface())
		if e.secret && val != "" {
			val = redacted
		}
		flat[e.key] = val
	}
	return nest(flat)
}

// LogValue implements slog.LogValuer so that logging a *Config never
// reveals its secrets.
func (c *Config) LogValue() slog.Value {
	return slog.AnyValue(c.Redacted())
}
