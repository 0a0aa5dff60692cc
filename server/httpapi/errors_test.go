package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/servertest"
)

// leakWords are strings that must never reach a client: SQL, driver and
// Go-internal wording.
var leakWords = []string{
	"select ", "insert ", "update ", "delete from", "sql", "constraint", "no such",
	"syntax error", "ent:", "goroutine", "panic", ".go:",
}

func TestErrors_BadUserInput(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		field string // named in the message
	}{
		{"domain name with spaces", `mutation {
			createDomain(input: {name: "not a domain"}) { id } }`, nil, "name"},
		{"domain name of one label", `mutation { createDomain(input: {name: "localhost"}) { id } }`,
			nil, "name"},
		{"empty domain name", `mutation { createDomain(input: {name: ""}) { id } }`, nil, "name"},
		{"DKIM selector that is not a DNS label", `mutation {
			createDomain(input: {name: "sel.example", dkimSelector: "x; d=evil.example"}) { id } }`,
			nil, "dkimSelector"},
		{"DKIM selector update that is not a DNS label", `mutation($id: ID!) {
			updateDomain(id: $id, input: {dkimSelector: "a b"}) { id } }`,
			map[string]any{"id": a.Domain}, "dkimSelector"},
		{"local part with spaces", `mutation($dom: ID!) {
			createAccount(input: {localPart: "no spaces", domainID: $dom}) { account { id } } }`,
			map[string]any{"dom": a.Domain}, "localPart"},
		{"alias destination with a display name", `mutation($dom: ID!) {
			createAlias(input: {localPart: "x", domainID: $dom,
				destinations: ["Bob <bob@remote.example>"]}) { id } }`,
			map[string]any{"dom": a.Domain}, "destinations"},
		{"alias without destinations", `mutation($dom: ID!) {
			createAlias(input: {localPart: "x", domainID: $dom, destinations: []}) { id } }`,
			map[string]any{"dom": a.Domain}, "destinations"},
		{"negative token ttl", `mutation { issueToken(ttlSeconds: -5) { token } }`,
			nil, "ttlSeconds"},
		{"token ttl over the maximum", `mutation { issueToken(ttlSeconds: 100000000) { token } }`,
			nil, "ttl"},
		{"unknown scope", `mutation { createAPIKey(input: {name: "k", scopes: ["root"]}) {
			secret } }`, nil, "root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, counts := world(t, e, a), rowCounts(t, e)
			r := e.Do(t, a.Token, tc.query, tc.vars)
			wantCode(t, r, "BAD_USER_INPUT")
			if len(r.Errors) > 0 && !strings.Contains(r.Errors[0].Message, tc.field) {
				t.Errorf("message %q does not name %s", r.Errors[0].Message, tc.field)
			}
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows created or deleted (-before +after):\n%s", diff)
			}
		})
	}
}

func TestErrors_AddressesAreUnique(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	b := newTenant(t, e, "b")
	createDomain := `mutation($name: String!) { createDomain(input: {name: $name}) { id } }`
	tests := []struct {
		name   string
		bearer string
		query  string
		vars   map[string]any
	}{
		{"same domain again", a.Token, createDomain, map[string]any{"name": "a.example"}},
		{"same domain in another spelling", a.Token, createDomain,
			map[string]any{"name": "A.Example."}},
		{"another organization's domain", b.Token, createDomain,
			map[string]any{"name": "a.example"}},
		{"an account's address", a.Token, `mutation($dom: ID!) {
			createAccount(input: {localPart: "USER", domainID: $dom}) { account { id } } }`,
			map[string]any{"dom": a.Domain}},
		{"an alias's address for an account", a.Token, `mutation($dom: ID!) {
			createAccount(input: {localPart: "team", domainID: $dom}) { account { id } } }`,
			map[string]any{"dom": a.Domain}},
		{"an account's address for an alias", a.Token, `mutation($dom: ID!) {
			createAlias(input: {localPart: "user", domainID: $dom,
				destinations: ["x@remote.example"]}) { id } }`,
			map[string]any{"dom": a.Domain}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counts := rowCounts(t, e)
			r := e.Do(t, tc.bearer, tc.query, tc.vars)
			wantCode(t, r, "BAD_USER_INPUT")
			if len(r.Errors) > 0 {
				if w := containsAny(r.Errors[0].Message, leakWords...); w != "" {
					t.Errorf("message %q leaks %q", r.Errors[0].Message, w)
				}
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows created (-before +after):\n%s", diff)
			}
		})
	}
}

func TestErrors_UnknownIDsAreNotFound(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	tests := []struct{ name, id string }{
		{"well-formed id of no row", string(pulid.New("dom"))},
		{"id without a prefix", "01jd7q0000000000000000000"},
		{"unknown prefix", string(pulid.New("zzz"))},
		{"garbage", "'; DROP TABLE domains; --"},
		// Types kept out of the API must look like missing rows too.
		{"prefix of a type outside the API", string(pulid.New("blb"))},
		{"prefix of the event log", string(pulid.New("evt"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, a.Token, nodeQuery, map[string]any{"id": tc.id})
			wantCode(t, r, "NOT_FOUND")
			r = e.Do(t, a.Token, `mutation($id: ID!) {
				updateDomain(id: $id, input: {sendLimitPerHour: 1}) { id } }`,
				map[string]any{"id": tc.id})
			wantCode(t, r, "NOT_FOUND")
		})
	}
}

func TestErrors_InternalErrorsAreMasked(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	c := e.App.DB.Client

	// Once armed, reading domains fails with a real SQLite error, writing
	// aliases fails with a real SQLite error from inside the transaction,
	// and writing accounts panics.
	var armed atomic.Bool
	c.Domain.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			if !armed.Load() {
				return next.Query(ctx, q)
			}
			return nil, sqlError(ctx, e, nil)
		})
	}))
	c.MailAlias.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if !armed.Load() {
				return next.Mutate(ctx, m)
			}
			return nil, sqlError(ctx, e, m)
		})
	})
	c.Account.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if armed.Load() {
				panic("secret_panic_detail at /src/lightr/accounts.go:42")
			}
			return next.Mutate(ctx, m)
		})
	})

	tests := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"query", `{ domains { edges { node { id } } } }`, nil},
		{"mutation", `mutation($id: ID!) {
			updateAlias(id: $id, input: {destinations: ["z@remote.example"]}) { id } }`,
			map[string]any{"id": a.Alias}},
		{"panic", `mutation($id: ID!) {
			updateAccount(id: $id, input: {displayName: "x"}) { id } }`,
			map[string]any{"id": a.Account}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			armed.Store(true)
			defer armed.Store(false)
			reqID := fmt.Sprintf("masktest-%d", i)
			hdr := http.Header{"Authorization": {"Bearer " + a.Token}, "X-Request-Id": {reqID}}
			raw, r := postGraphQL(t, e, hdr, tc.query, tc.vars)
			wantCode(t, r, "INTERNAL")
			if strings.Contains(string(raw.Body), "secret_") {
				t.Errorf("response %s leaks the internal error", raw.Body)
			}
			if w := containsAny(string(raw.Body), leakWords...); w != "" {
				t.Errorf("response %s leaks %q", raw.Body, w)
			}
			if len(r.Errors) > 0 && !strings.Contains(r.Errors[0].Message, reqID) {
				t.Errorf("message %q lacks the request id %s", r.Errors[0].Message, reqID)
			}
			if got := raw.Header.Get("X-Request-Id"); got != reqID {
				t.Errorf("X-Request-Id = %q, want %q", got, reqID)
			}
		})
	}
}

// rawQuerier is implemented by every generated mutation.
type rawQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqlError runs a statement that SQLite refuses and returns its error,
// wrapped as a data layer would. Inside a mutation it runs in the
// mutation's transaction.
func sqlError(ctx context.Context, e *servertest.Env, m ent.Mutation) error {
	const bad = "SELECT secret_column FROM domains WHERE name = 'secret_value'"
	var q rawQuerier = e.App.DB.Driver
	if m != nil {
		q = m.(rawQuerier)
	}
	rows, err := q.QueryContext(ctx, bad)
	if err == nil {
		defer rows.Close()
		return errors.Join(errors.New("secret_statement unexpectedly succeeded"), rows.Err())
	}
	return fmt.Errorf("read secret_table: %w", err)
}

func TestErrors_MalformedRequests(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = 1 << 10 })
	a := newTenantFlat(t, e, "a")
	auth := http.Header{"Authorization": {"Bearer " + a.Token}}
	post := func(body string) func(t testing.TB) rawResponse {
		return func(t testing.TB) rawResponse {
			hdr := auth.Clone()
			hdr.Set("Content-Type", "application/json")
			return send(t, e, http.MethodPost, "/graphql", hdr, []byte(body))
		}
	}
	tests := []struct {
		name string
		do   func(t testing.TB) rawResponse
	}{
		{"body over max_body_bytes", post(`{"query": "{ domains { totalCount } }` +
			strings.Repeat(" ", 2<<10) + `"}`)},
		{"body that is not JSON", post("not json")},
		{"variables that are not an object", func(t testing.TB) rawResponse {
			return send(t, e, http.MethodGet,
				"/graphql?query=%7B__typename%7D&variables=notjson", auth, nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.do(t)
			switch raw.Status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Errorf("status %d, want 400 or 413", raw.Status)
			}
			r := &servertest.Response{}
			if err := json.Unmarshal(raw.Body, r); err != nil {
				t.Fatalf("body %q: %v", raw.Body, err)
			}
			if len(r.Errors) == 0 {
				t.Fatalf("no error in %s", raw.Body)
			}
			// A client's mistake is neither a server fault nor codeless.
			if c := r.Code(); c == "" || c == "INTERNAL" {
				t.Errorf("extensions.code = %q (message %q), want a client error code",
					c, r.Errors[0].Message)
			}
		})
	}

	// Control: a well-formed request under the limit works.
	wantOK(t, e.Do(t, a.Token, `{ domains { totalCount } }`, nil))
}
