package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// minimalYAML is the smallest file operators have been told to write; it
// must keep loading.
const minimalYAML = `data_dir: ./data
http:
  addr: "127.0.0.1:8080"
smtp:
  addr: ":2525"
  domain: "mail.example.com"
imap:
  addr: ":1143"
dkim:
  selector: "default"
  key_bits: 2048
`

// writeFile writes content to dir/name and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// envOf returns a LoadOptions.Env that sees only m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// defaultsIn returns Default with relative paths resolved against dir, as
// Load returns it when nothing is set.
func defaultsIn(dir string) *Config {
	c := Default()
	c.DataDir = filepath.Join(dir, "data")
	return c
}

// mustLoad calls Load and fails the test on error.
func mustLoad(t testing.TB, opts LoadOptions) *Config {
	t.Helper()
	c, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoad_MinimalFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, FileName, minimalYAML)

	got := mustLoad(t, LoadOptions{File: path, Env: envOf(nil)})

	want := defaultsIn(dir)
	want.SMTP.Domain = "mail.example.com"
	want.File = path
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestLoad_DefaultsWithoutFile(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}

	got := mustLoad(t, LoadOptions{Env: envOf(nil), SearchDirs: []string{t.TempDir()}})

	if diff := cmp.Diff(defaultsIn(wd), got); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestLoad_Precedence(t *testing.T) {
	const file = "http:\n  addr: \"file:1\"\n"
	tests := []struct {
		name  string
		file  string            // lightr.yaml content; empty means no file
		env   map[string]string // environment
		flags []string          // command line
		want  string            // http.addr
	}{
		{name: "default", want: "127.0.0.1:8080"},
		{name: "file", file: file, want: "file:1"},
		{
			name: "env over file",
			file: file,
			env:  map[string]string{"LIGHTR_HTTP_ADDR": "env:2"},
			want: "env:2",
		},
		{
			name: "env without file",
			env:  map[string]string{"LIGHTR_HTTP_ADDR": "env:2"},
			want: "env:2",
		},
		{
			name: "empty env is unset",
			file: file,
			env:  map[string]string{"LIGHTR_HTTP_ADDR": ""},
			want: "file:1",
		},
		{
			name:  "flag over env",
			file:  file,
			env:   map[string]string{"LIGHTR_HTTP_ADDR": "env:2"},
			flags: []string{"--http-addr=flag:3"},
			want:  "flag:3",
		},
		{
			name: "unchanged flag does not override",
			file: file,
			env:  map[string]string{"LIGHTR_HTTP_ADDR": "env:2"},
			want: "env:2",
		},
		{
			name:  "annotated flag",
			env:   map[string]string{"LIGHTR_HTTP_ADDR": "env:2"},
			flags: []string{"--listen=flag:4"},
			want:  "flag:4",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				writeFile(t, dir, FileName, tt.file)
			}
			fs := pflag.NewFlagSet("lightr", pflag.ContinueOnError)
			fs.String("http-addr", "flagdefault:9", "")
			fs.String("listen", "flagdefault:9", "")
			err := fs.SetAnnotation("listen", FlagAnnotation, []string{"http.addr"})
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}

			c := mustLoad(t, LoadOptions{Flags: fs, Env: envOf(tt.env), SearchDirs: []string{dir}})

			if c.HTTP.Addr != tt.want {
				t.Errorf("http.addr = %q, want %q", c.HTTP.Addr, tt.want)
			}
		})
	}
}

func TestLoad_EnvTypes(t *testing.T) {
	env := envOf(map[string]string{
		"LIGHTR_HTTP_MAX_DEPTH":        "20",
		"LIGHTR_HTTP_GRAPHIQL":         "false",
		"LIGHTR_HTTP_READ_TIMEOUT":     "1m30s",
		"LIGHTR_HTTP_MAX_BODY_BYTES":   "2048",
		"LIGHTR_JWT_PUBLIC_KEY_FILES":  "/keys/a.pem, /keys/b.pem,",
		"LIGHTR_SMTP_DOMAIN":           "mx.example.org",
		"LIGHTR_DKIM_KEY_BITS":         "4096",
		"LIGHTR_DATABASE_BUSY_TIMEOUT": "5s",
	})

	got := mustLoad(t, LoadOptions{Env: env, SearchDirs: []string{}})

	want := defaultsIn(filepath.Dir(got.DataDir))
	want.HTTP.MaxDepth = 20
	want.HTTP.GraphiQL = false
	want.HTTP.ReadTimeout = 90 * time.Second
	want.HTTP.MaxBodyBytes = 2048
	want.JWT.PublicKeyFiles = []string{"/keys/a.pem", "/keys/b.pem"}
	want.SMTP.Domain = "mx.example.org"
	want.DKIM.KeyBits = 4096
	want.Database.BusyTimeout = 5 * time.Second
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

// TestLoad_OSEnv checks the default Env, os.LookupEnv, with no file: the
// value must reach the struct although viper never saw the key in a file.
func TestLoad_OSEnv(t *testing.T) {
	t.Setenv("LIGHTR_HTTP_MAX_PAGE_SIZE", "42")
	t.Setenv("LIGHTR_LOG_FORMAT", "json")

	c := mustLoad(t, LoadOptions{SearchDirs: []string{}})

	if c.HTTP.MaxPageSize != 42 || c.Log.Format != "json" {
		t.Errorf("max_page_size, format = %d, %q; want 42, json", c.HTTP.MaxPageSize, c.Log.Format)
	}
}

func TestLoad_FlagTypes(t *testing.T) {
	fs := pflag.NewFlagSet("lightr", pflag.ContinueOnError)
	fs.Int("http-max-depth", 0, "")
	fs.Duration("http-write-timeout", 0, "")
	fs.Bool("http-introspection", true, "")
	fs.StringSlice("jwt-public-key-files", nil, "")
	args := []string{
		"--http-max-depth=7", "--http-write-timeout=2m", "--http-introspection=false",
		"--jwt-public-key-files=/a.pem,/b.pem",
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"LIGHTR_HTTP_MAX_DEPTH": "20"})

	c := mustLoad(t, LoadOptions{Flags: fs, Env: env, SearchDirs: []string{}})

	got := []any{c.HTTP.MaxDepth, c.HTTP.WriteTimeout, c.HTTP.Introspection, c.JWT.PublicKeyFiles}
	want := []any{7, 2 * time.Minute, false, []string{"/a.pem", "/b.pem"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flag values mismatch (-want +got):\n%s", diff)
	}
}

func TestLoad_BadFlagAnnotation(t *testing.T) {
	fs := pflag.NewFlagSet("lightr", pflag.ContinueOnError)
	fs.String("listen", "", "")
	if err := fs.SetAnnotation("listen", FlagAnnotation, []string{"http.adress"}); err != nil {
		t.Fatal(err)
	}

	_, err := Load(LoadOptions{Flags: fs, Env: envOf(nil), SearchDirs: []string{}})

	if err == nil || !strings.Contains(err.Error(), `--listen`) {
		t.Errorf("Load error = %v, want one naming --listen", err)
	}
}

func TestLoad_FileSearch(t *testing.T) {
	xdg := t.TempDir()
	if err := os.Mkdir(filepath.Join(xdg, "lightr"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, filepath.Join(xdg, "lightr"), FileName, "log:\n  level: debug\n")

	c := mustLoad(t, LoadOptions{Env: envOf(map[string]string{"XDG_CONFIG_HOME": xdg})})

	if c.File != path || c.Log.Level != "debug" {
		t.Errorf("File, log.level = %q, %q; want %q, debug", c.File, c.Log.Level, path)
	}
}

func TestLoad_MissingExplicitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")

	_, err := Load(LoadOptions{File: path, Env: envOf(nil)})

	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load error = %v, want one naming %s", err, path)
	}
}

func TestLoad_UnknownKey(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // in the error
	}{
		{"misspelt", "http:\n  adress: \":80\"\n", `unknown key "http.adress" in `}, //nolint:misspell // on purpose
		{"top level", "colour: red\n", `unknown key "colour"`},                      //nolint:misspell // on purpose
		{"null value", "smtp:\n  limits:\n", `unknown key "smtp.limits"`},
		{"nested section", "http:\n  tls:\n    cert: x\n", `unknown key "http.tls.cert"`},
		{"file key of non-secret", "http:\n  addr_file: /x\n", `unknown key "http.addr_file"`},
		{"section with value", "http: 80\n", "config: http: must be a section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), FileName, tt.yaml)

			_, err := Load(LoadOptions{File: path, Env: envOf(nil)})

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoad_NullSectionKeepsDefaults(t *testing.T) {
	path := writeFile(t, t.TempDir(), FileName, "http:\nadmin:\nlog:\n  level:\n")

	c := mustLoad(t, LoadOptions{File: path, Env: envOf(nil)})

	if c.HTTP.Addr != "127.0.0.1:8080" || c.Log.Level != "info" {
		t.Errorf("http.addr, log.level = %q, %q; want defaults", c.HTTP.Addr, c.Log.Level)
	}
}

func TestLoad_InvalidValue(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string // in the error
	}{
		{name: "missing port", yaml: "http:\n  addr: 127.0.0.1\n",
			want: "config: http.addr: missing port in address"},
		{name: "bad port", yaml: "imap:\n  addr: \":99999\"\n",
			want: `config: imap.addr: port "99999" is not a number`},
		{name: "empty addr", yaml: "smtp:\n  addr: \"\"\n",
			want: "config: smtp.addr: missing address"},
		{name: "log level", yaml: "log:\n  level: verbose\n",
			want: "config: log.level: must be one of debug, info, warn, error"},
		{name: "log format", env: map[string]string{"LIGHTR_LOG_FORMAT": "xml"},
			want: "config: log.format: must be one of text, json"},
		{name: "bad duration", yaml: "http:\n  read_timeout: soon\n",
			want: `config: http.read_timeout: invalid duration "soon"`},
		{name: "duration without unit", yaml: "http:\n  write_timeout: 30\n",
			want: "config: http.write_timeout: want a duration with a unit"},
		{name: "bad env duration", env: map[string]string{"LIGHTR_JWT_MAX_TTL": "forever"},
			want: `config: jwt.max_ttl: invalid duration "forever"`},
		{name: "negative duration", yaml: "database:\n  busy_timeout: -1s\n",
			want: "config: database.busy_timeout: must be greater than zero"},
		{name: "negative size", yaml: "http:\n  max_body_bytes: -1\n",
			want: "config: http.max_body_bytes: must be greater than zero, not -1"},
		{name: "zero page size", env: map[string]string{"LIGHTR_HTTP_MAX_PAGE_SIZE": "0"},
			want: "config: http.max_page_size: must be greater than zero"},
		{name: "not a number", yaml: "http:\n  max_depth: deep\n",
			want: `config: http.max_depth: want an integer, not "deep"`},
		{name: "not a bool", env: map[string]string{"LIGHTR_HTTP_GRAPHIQL": "maybe"},
			want: `config: http.graphiql: want true or false, not "maybe"`},
		{name: "list for string", yaml: "smtp:\n  domain: [a, b]\n",
			want: "config: smtp.domain: want a string, not a list"},
		{name: "key bits", yaml: "dkim:\n  key_bits: 1000\n",
			want: "config: dkim.key_bits: must be one of 1024, 2048, 3072, 4096"},
		{name: "algorithm", yaml: "dkim:\n  algorithm: dsa\n",
			want: "config: dkim.algorithm: must be one of rsa, ed25519"},
		{name: "selector", yaml: "dkim:\n  selector: \"\"\n",
			want: "config: dkim.selector: must not be empty"},
		{name: "domain", yaml: "smtp:\n  domain: mail_example.com\n",
			want: `config: smtp.domain: "mail_example.com" is not a valid host name`},
		{name: "data dir", yaml: "data_dir: \"\"\n",
			want: "config: data_dir: must not be empty"},
		{name: "ttl order", yaml: "jwt:\n  default_ttl: 48h\n  max_ttl: 24h\n",
			want: "config: jwt.default_ttl: 48h exceeds jwt.max_ttl (24h)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.yaml != "" {
				writeFile(t, dir, FileName, tt.yaml)
			}

			_, err := Load(LoadOptions{Env: envOf(tt.env), SearchDirs: []string{dir}})

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoad_SecretFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
	}{
		{name: "yaml key", yaml: "admin:\n  api_key_hash_file: secret.txt\n"},
		{name: "env", env: map[string]string{"LIGHTR_ADMIN_API_KEY_HASH_FILE": "secret.txt"}},
		{name: "value", env: map[string]string{"LIGHTR_ADMIN_API_KEY_HASH": "$argon2id$hash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A relative secret path is relative to the config file's directory.
			dir := t.TempDir()
			writeFile(t, dir, "secret.txt", "  $argon2id$hash\n\n")
			path := writeFile(t, dir, FileName, tt.yaml)

			c := mustLoad(t, LoadOptions{File: path, Env: envOf(tt.env)})

			if c.Admin.APIKeyHash != "$argon2id$hash" {
				t.Errorf("admin.api_key_hash = %q, want the trimmed file content",
					c.Admin.APIKeyHash)
			}
		})
	}
}

func TestLoad_SecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "secret.txt", "hash\n")
	writeFile(t, dir, "empty.txt", " \n")
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{
			name: "both in file",
			yaml: "admin:\n  api_key_hash: x\n  api_key_hash_file: secret.txt\n",
			want: "config: admin.api_key_hash: both admin.api_key_hash and " +
				"admin.api_key_hash_file are set",
		},
		{
			name: "value in file, file in env",
			yaml: "admin:\n  api_key_hash: x\n",
			env:  map[string]string{"LIGHTR_ADMIN_API_KEY_HASH_FILE": "secret.txt"},
			want: "config: admin.api_key_hash: both",
		},
		{
			name: "missing file",
			yaml: "admin:\n  api_key_hash_file: nope.txt\n",
			want: "config: admin.api_key_hash_file: open ",
		},
		{
			name: "empty file",
			yaml: "admin:\n  api_key_hash_file: empty.txt\n",
			want: "config: admin.api_key_hash_file: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, FileName, tt.yaml)

			_, err := Load(LoadOptions{File: path, Env: envOf(tt.env)})

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hash\n") {
				t.Errorf("Load error %q reveals the secret", err)
			}
		})
	}
}

func TestLoad_RelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, FileName, `data_dir: state
database:
  path: db/mail.db
jwt:
  private_key_file: /etc/lightr/jwt.pem
  public_key_files: [old.pem, /abs/older.pem]
`)

	c := mustLoad(t, LoadOptions{File: path, Env: envOf(nil)})

	got := []any{c.DataDir, c.DatabasePath(), c.JWTKeyPath(), c.JWT.PublicKeyFiles, c.KeysDir()}
	want := []any{
		filepath.Join(dir, "state"),
		filepath.Join(dir, "db", "mail.db"),
		"/etc/lightr/jwt.pem",
		[]string{filepath.Join(dir, "old.pem"), "/abs/older.pem"},
		filepath.Join(dir, "state", "keys"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths mismatch (-want +got):\n%s", diff)
	}
}

func TestConfig_DerivedPaths(t *testing.T) {
	c := Default()
	c.DataDir = "/var/lib/lightr"

	got := []string{c.DatabasePath(), c.JWTKeyPath(), c.KeysDir()}

	want := []string{
		"/var/lib/lightr/lightr.db",
		"/var/lib/lightr/keys/jwt.pem",
		"/var/lib/lightr/keys",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived paths mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteTemplate_RoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		edit      func(c *Config, dir string)
	}{
		{name: "defaults", edit: func(*Config, string) {}},
		{
			name: "overrides",
			overrides: map[string]any{
				"http.addr":               "0.0.0.0:80",
				"smtp.domain":             "mx.example.org",
				"jwt.default_ttl":         2 * time.Hour,
				"jwt.public_key_files":    []string{"old.pem"},
				"dkim.key_bits":           3072,
				"http.graphiql":           false,
				"admin.api_key_hash_file": "hash.txt",
			},
			edit: func(c *Config, dir string) {
				c.HTTP.Addr = "0.0.0.0:80"
				c.SMTP.Domain = "mx.example.org"
				c.JWT.DefaultTTL = 2 * time.Hour
				c.JWT.PublicKeyFiles = []string{filepath.Join(dir, "old.pem")}
				c.DKIM.KeyBits = 3072
				c.HTTP.GraphiQL = false
				c.Admin.APIKeyHash = "h"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTemplate(&b, tt.overrides); err != nil {
				t.Fatalf("WriteTemplate: %v", err)
			}
			dir := t.TempDir()
			writeFile(t, dir, "hash.txt", "h\n")
			path := writeFile(t, dir, FileName, b.String())

			got, err := Load(LoadOptions{File: path, Env: envOf(nil)})
			if err != nil {
				t.Fatalf("Load of the template: %v\n%s", err, b.String())
			}

			want := defaultsIn(dir)
			want.File = path
			tt.edit(want, dir)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteTemplate_EveryKey checks that the template sets every key other
// than secrets, each below a comment, so none silently falls back to Load's
// defaults.
func TestWriteTemplate_EveryKey(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTemplate(&b, nil); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatal(err)
	}
	s, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(b.String(), "\n")
	for _, e := range s.entries {
		if !e.section && !e.secret && !v.IsSet(e.key) {
			t.Errorf("template does not set %s", e.key)
		}
		prefix := strings.Repeat("  ", e.depth) + e.name + ":"
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) &&
				!strings.HasPrefix(strings.TrimSpace(lines[i-1]), "# ") {
				t.Errorf("template line %q has no comment above it", l)
			}
		}
	}
}

func TestWriteTemplate_UnknownOverride(t *testing.T) {
	err := WriteTemplate(&bytes.Buffer{}, map[string]any{"http.adress": ":80"})

	if err == nil || !strings.Contains(err.Error(), `unknown key "http.adress"`) {
		t.Errorf("WriteTemplate error = %v, want one naming http.adress", err)
	}
}

func TestConfig_Redacted(t *testing.T) {
	const secret = "$argon2id$v=19$supersecret"
	tests := []struct {
		name   string
		secret string
		want   string
	}{
		{name: "set", secret: secret, want: "[redacted]"},
		{name: "unset", secret: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Admin.APIKeyHash = tt.secret

			r := c.Redacted()

			admin, _ := r["admin"].(map[string]any)
			if got := admin["api_key_hash"]; got != tt.want {
				t.Errorf("admin.api_key_hash = %v, want %q", got, tt.want)
			}
			if got := r["http"].(map[string]any)["read_timeout"]; got != "30s" {
				t.Errorf("http.read_timeout = %v, want 30s", got)
			}
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "config", c)
			for _, out := range []string{fmt.Sprint(r), logged.String()} {
				if strings.Contains(out, "supersecret") {
					t.Errorf("output reveals the secret: %s", out)
				}
			}
		})
	}
}

func TestLoad_ReportsEveryDecodeError(t *testing.T) {
	path := writeFile(t, t.TempDir(), FileName,
		"http:\n  max_depth: x\n  read_timeout: 5\n  graphiql: maybe\n")

	_, err := Load(LoadOptions{File: path, Env: envOf(nil)})

	for _, key := range []string{"http.max_depth", "http.read_timeout", "http.graphiql"} {
		if err == nil || !strings.Contains(err.Error(), "config: "+key+": ") {
			t.Errorf("Load error = %v, want one naming %s", err, key)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}

	c.HTTP.Addr = "nowhere"
	c.Log.Level = "loud"

	err := c.Validate()
	for _, key := range []string{"http.addr", "log.level"} {
		if err == nil || !strings.Contains(err.Error(), "config: "+key+": ") {
			t.Errorf("Validate error = %v, want one naming %s", err, key)
		}
	}
}
