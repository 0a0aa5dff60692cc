package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// decodeHook converts the strings that flags, environment variables and
// YAML provide into the types of Config fields.
var decodeHook = mapstructure.ComposeDecodeHookFunc(
	durationHook,
	listHook,
	mapstructure.TextUnmarshallerHookFunc(),
)

// durationHook parses duration strings such as "30s". Unlike mapstructure's
// own hook it rejects bare numbers, which YAML would otherwise turn into
// nanoseconds: "read_timeout: 30" is almost certainly not meant as 30ns.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() || from == to {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return nil, fmt.Errorf("want a duration with a unit, such as \"30s\", not %v", data)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// listHook splits a comma-separated string, as an environment variable
// holds a list, into its trimmed non-empty elements.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	var list []string
	for item := range strings.SplitSeq(data.(string), ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list, nil
}

// decodeError turns the errors of mapstructure into *KeyErrors that name
// the key and say what is wrong without mapstructure's Go type jargon.
func decodeError(err error) error {
	var errs []error
	var walk func(error)
	walk = func(err error) {
		var de *mapstructure.DecodeError
		switch e := err.(type) { //nolint:errorlint // walks the wrap tree itself
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case *mapstructure.DecodeError:
			// A struct's error wraps those of its fields; report the fields.
			if errors.As(e.Unwrap(), &de) {
				walk(e.Unwrap())
				return
			}
			errs = append(errs, &KeyError{Key: e.Name(), Err: plainError(e.Unwrap())})
		default:
			// mapstructure wraps several errors in one summary error.
			if inner := errors.Unwrap(err); inner != nil && errors.As(inner, &de) {
				walk(inner)
				return
			}
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
	}
	walk(err)
	return errors.Join(errs...)
}

// plainError rewrites a mapstructure type error in the words of the YAML
// file. Only numbers and booleans fail to parse, so quoting the value back
// cannot reveal a secret; for other errors only the type is named.
func plainError(err error) error {
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("want %s, not %q", typeName(pe.Expected.Type()), fmt.Sprint(pe.Value))
	}
	var ue *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ue) {
		return fmt.Errorf("want %s, not %s", typeName(ue.Expected.Type()),
			typeName(reflect.TypeOf(ue.Value)))
	}
	return err
}

// typeName names t as a YAML user would.
func typeName(t reflect.Type) string {
	if t == nil {
		return "null"
	}
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// display returns v as shown to users: durations as "30s", not nanoseconds.
func display(v any) any {
	switch v := v.(type) {
	case time.Duration:
		return formatDuration(v)
	case []string:
		return append([]string(nil), v...)
	case []time.Duration:
		out := make([]string, len(v))
		for i, d := range v {
			out[i] = formatDuration(d)
		}
		return out
	}
	return v
}
