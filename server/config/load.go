package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// FileName is the name of the configuration file Load searches for.
const FileName = "lightr.yaml"

// FlagAnnotation is the pflag annotation that binds a flag to a key whose
// name it does not match, for example:
//
//	flags.SetAnnotation("listen", config.FlagAnnotation, []string{"http.addr"})
const FlagAnnotation = "lightr_config_key"

// LoadOptions tells Load where to read the configuration from.
type LoadOptions struct {
	// File is the configuration file given with --config. When empty, Load
	// searches SearchDirs for lightr.yaml and uses defaults when none is
	// found; when set, the file must exist.
	File string

	// Flags holds the command-line flags. Flags bound to a key override
	// every other source, but only when the user set them. It may be nil.
	Flags *pflag.FlagSet

	// Env looks up environment variables. Nil means os.LookupEnv.
	Env func(name string) (string, bool)

	// SearchDirs are the directories searched for lightr.yaml, in order.
	// Nil means ".", $XDG_CONFIG_HOME/lightr, $HOME/.config/lightr and
	// /etc/lightr; an empty non-nil slice disables the search.
	SearchDirs []string
}

// Load builds the configuration from, in decreasing precedence, the flags
// the user set, LIGHTR_* environment variables, the configuration file and
// the defaults. It resolves secrets given as K_file keys and relative paths,
// then validates the result. Errors name the offending key.
func Load(opts LoadOptions) (*Config, error) {
	s, err := loadSchema()
	if err != nil {
		return nil, err
	}
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}

	// Every key gets a default, even a zero one: viper's Unmarshal only
	// sees keys it already knows (spf13/viper#761).
	v := viper.New()
	def := reflect.ValueOf(Default()).Elem()
	for _, e := range s.entries {
		if !e.section {
			v.SetDefault(e.key, def.FieldByIndex(e.index).Interface())
		}
	}
	for k := range s.fileKeys {
		v.SetDefault(k, "")
	}

	// The file and the environment share viper's config layer, the
	// environment merged last so it wins. Env is injectable this way,
	// which viper's AutomaticEnv (always os.Getenv) is not.
	file, err := findFile(opts, env)
	if err != nil {
		return nil, err
	}
	layer := map[string]any{}
	if file != "" {
		if layer, err = s.readFile(file); err != nil {
			return nil, err
		}
	}
	for _, k := range s.keys() {
		if val, ok := env(EnvName(k)); ok && val != "" {
			layer[k] = val
		}
	}
	if err := v.MergeConfigMap(nest(layer)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := s.bindFlags(v, opts.Flags); err != nil {
		return nil, err
	}

	c := &Config{}
	if err := v.Unmarshal(c, viper.DecodeHook(decodeHook)); err != nil {
		return nil, decodeError(err)
	}
	return c.finish(s, v, file)
}

// finish completes a decoded Config: secrets, paths, then validation.
func (c *Config) finish(s *schema, v *viper.Viper, file string) (*Config, error) {
	// Relative paths are relative to the file that holds them, so that
	// the configuration means the same whatever the working directory.
	base, err := os.Getwd()
	if file != "" {
		file, err = filepath.Abs(file)
		base = filepath.Dir(file)
	}
	if err != nil {
		return nil, fmt.Errorf("config: resolve relative paths: %w", err)
	}
	c.File = file

	root := reflect.ValueOf(c).Elem()
	for _, e := range s.entries {
		if e.section {
			continue
		}
		f := root.FieldByIndex(e.index)
		if f.Kind() == reflect.Slice && f.Len() == 0 {
			// Keep "[]" in a file and an unset key equal.
			f.SetZero()
		}
		if e.secret {
			if err := readSecret(f, e.key, v.GetString(e.key+fileSuffix), base); err != nil {
				return nil, err
			}
		}
		if e.path {
			resolvePaths(f, base)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// findFile returns the configuration file to read, or "" when none was
// given and none was found.
func findFile(opts LoadOptions, env func(string) (string, bool)) (string, error) {
	if opts.File != "" {
		if _, err := os.Stat(opts.File); err != nil {
			return "", fmt.Errorf("config: %w", err)
		}
		return opts.File, nil
	}
	dirs := opts.SearchDirs
	if dirs == nil {
		dirs = defaultSearchDirs(env)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, FileName)
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		// A missing file is normal; an unreadable one is not.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", fmt.Errorf("config: %w", err)
		}
	}
	return "", nil
}

// defaultSearchDirs returns the directories searched for lightr.yaml when
// LoadOptions.SearchDirs is nil.
func defaultSearchDirs(env func(string) (string, bool)) []string {
	dirs := []string{"."}
	if xdg, ok := env("XDG_CONFIG_HOME"); ok && xdg != "" {
		dirs = append(dirs, filepath.Join(xdg, "lightr"))
	}
	if home, ok := env("HOME"); ok && home != "" {
		dirs = append(dirs, filepath.Join(home, ".config", "lightr"))
	}
	return append(dirs, "/etc/lightr")
}

// readFile parses the YAML file at path and returns its values keyed by
// leaf key. It rejects keys that Config does not have.
func (s *schema) readFile(path string) (map[string]any, error) {
	fv := viper.New()
	fv.SetConfigFile(path)
	fv.SetConfigType("yaml")
	if err := fv.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}

	// AllKeys also lists keys set to null, so typos are caught even without
	// a value. Keys are sorted to report the first unknown key stably.
	keys := fv.AllKeys()
	slices.Sort(keys)
	values := map[string]any{}
	for _, k := range keys {
		// viper lists a section as a key only when it is not a mapping.
		// Null is allowed, as "admin:" with every key commented out.
		if s.sections[k] {
			if fv.Get(k) != nil {
				err := fmt.Errorf("must be a section of keys in %s", path)
				return nil, &KeyError{Key: k, Err: err}
			}
			continue
		}
		leaf := s.lookupFileKey(k)
		if leaf == "" {
			return nil, fmt.Errorf("config: unknown key %q in %s", k, path)
		}
		// Null means unset, so the key keeps its default.
		if val := fv.Get(leaf); val != nil {
			values[leaf] = val
		}
	}
	return values, nil
}

// lookupFileKey returns the key holding the value of file key k: k itself,
// or the map-valued key that contains it. It returns "" for a key that
// Config does not have.
func (s *schema) lookupFileKey(k string) string {
	if s.leaves[k] != nil || s.fileKeys[k] != nil {
		return k
	}
	for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
		if e := s.leaves[k[:i]]; e != nil && e.typ.Kind() == reflect.Map {
			return e.key
		}
	}
	return ""
}

// bindFlags binds the flags of fs that the user set to the keys they name.
// Unset flags are not bound: their defaults must not override the file or
// the environment, and several flags may name one key.
func (s *schema) bindFlags(v *viper.Viper, fs *pflag.FlagSet) error {
	if fs == nil {
		return nil
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		key, ok := s.flags[f.Name]
		if ann, annotated := f.Annotations[FlagAnnotation]; annotated {
			if len(ann) != 1 || (s.leaves[ann[0]] == nil && s.fileKeys[ann[0]] == nil) {
				err = errors.Join(err, fmt.Errorf(
					"config: flag --%s: %s annotation %q names no key",
					f.Name, FlagAnnotation, ann))
				return
			}
			key, ok = ann[0], true
		}
		if ok && f.Changed {
			err = errors.Join(err, v.BindPFlag(key, f))
		}
	})
	return err
}

// nest turns {"http.addr": x} into {"http": {"addr": x}}.
func nest(flat map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range flat {
		m := out
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = val
	}
	return out
}

// readSecret fills the secret field f of key from the file named by
// fileName, which is relative to base. Setting both is an error.
func readSecret(f reflect.Value, key, fileName, base string) error {
	if fileName == "" {
		return nil
	}
	if f.String() != "" {
		return &KeyError{Key: key, Err: fmt.Errorf("both %s and %s%s are set; keep one",
			key, key, fileSuffix)}
	}
	if !filepath.IsAbs(fileName) {
		fileName = filepath.Join(base, fileName)
	}
	b, err := os.ReadFile(fileName)
	if err != nil {
		return &KeyError{Key: key + fileSuffix, Err: err}
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return &KeyError{Key: key + fileSuffix, Err: fmt.Errorf("%s is empty", fileName)}
	}
	f.SetString(secret)
	return nil
}

// resolvePaths makes the relative paths in f, a string or []string field,
// relative to base.
func resolvePaths(f reflect.Value, base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(abs(f.String()))
	case reflect.Slice:
		for i := range f.Len() {
			f.Index(i).SetString(abs(f.Index(i).String()))
		}
	}
}
