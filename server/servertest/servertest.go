// Package servertest starts a real Lightr HTTP server in-process, on a
// loopback port and over a fresh database, for tests that drive it with
// real clients.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/httpapi"
)

// Env is a running server with its database.
type Env struct {
	App      *app.App
	Server   *httptest.Server
	URL      string // the GraphQL endpoint
	AdminKey string
	// Wakes counts the wake-ups of the outbound workers (which do not run
	// here) that the API's mutations sent after committing.
	Wakes *atomic.Int64
}

// New starts a server with a fresh data directory. mutate, if not nil,
// adjusts the configuration first.
func New(t testing.TB, mutate func(*config.Config)) *Env {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Log.Level = "warn"
	if mutate != nil {
		mutate(cfg)
	}
	if err := os.MkdirAll(cfg.KeysDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := auth.GenerateKeyFile(cfg.JWTKeyPath()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	wakes := new(atomic.Int64)
	events := a.NewFeed()
	t.Cleanup(events.Close)
	h := httpapi.Handler(httpapi.Options{
		Client: a.DB.Client, Auth: a.Auth, Ready: a.DB.Ping, Log: log, Notify: a.Notify,
		Wake:     func() { wakes.Add(1) },
		GraphiQL: cfg.HTTP.GraphiQL, Introspection: cfg.HTTP.Introspection,
		MaxDepth: cfg.HTTP.MaxDepth, MaxComplexity: cfg.HTTP.MaxComplexity,
		MaxPageSize: cfg.HTTP.MaxPageSize, PageSize: cfg.HTTP.DefaultPageSize,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Feed:         events, Subscriptions: a.SubscriptionOptions(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	k, err := access.CreateAdminKey(viewer.AdminContext(context.Background()), a.DB.Client, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &Env{App: a, Server: srv, URL: srv.URL + "/graphql", AdminKey: k.Secret, Wakes: wakes}
}

// Admin returns a context with the server admin as viewer.
func (e *Env) Admin() context.Context { return viewer.AdminContext(context.Background()) }

// Token issues a tenant token for org with the given scopes (all when nil).
func (e *Env) Token(t testing.TB, org pulid.ID, scopes ...string) string {
	t.Helper()
	tok, err := e.App.Auth.IssueToken(e.Admin(), org, scopes, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// Code returns the extensions.code of the first error, or "".
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Decode unmarshals the data into v, failing the test on GraphQL errors.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// Do posts a GraphQL request over HTTP with bearer as credential ("" for
// none).
func (e *Env) Do(t testing.TB, bearer, query string, vars map[string]any) *Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &Response{Status: res.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("status %d, body %q: %v", res.StatusCode, raw, err)
	}
	return out
}

// DataDir returns the server's data directory.
func (e *Env) DataDir() string { return filepath.Dir(e.App.Config.DatabasePath()) }

// testWriter sends log output to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
