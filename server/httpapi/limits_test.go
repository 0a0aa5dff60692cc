package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/servertest"
)

// wantRefused checks that r failed with code before any resolver ran:
// no data at all.
func wantRefused(t testing.TB, r *servertest.Response, code string) {
	t.Helper()
	wantCode(t, r, code)
	if len(r.Data) != 0 && string(r.Data) != "null" {
		t.Errorf("data = %s, want none", r.Data)
	}
}

func TestLimits_Depth(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) { c.HTTP.MaxDepth = 3 })
	a := newTenantFlat(t, e, "a")
	tests := []struct {
		name  string
		query string
		ok    bool
	}{
		{"two levels", `{ domains { totalCount } }`, true},
		{"at the limit", `{ domains { edges { cursor } } }`, true},
		{"one level too deep", `{ domains { edges { node { id } } } }`, false},
		{"through a fragment", `{ domains { ...d } }
			fragment d on DomainConnection { edges { node { id } } }`, false},
		{"through nested fragments", `{ domains { ...d } }
			fragment d on DomainConnection { edges { ...e } }
			fragment e on DomainEdge { node { id } }`, false},
		{"through an inline fragment", `query($id: ID!) {
			node(id: $id) { ... on Domain { accounts { edges { cursor } } } } }`, false},
		{"in a mutation", `mutation { createDomain(input: {name: "deep.example"}) {
			accounts { edges { node { id } } } } }`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counts := rowCounts(t, e)
			r := e.Do(t, a.Token, tc.query, map[string]any{"id": a.Domain})
			if tc.ok {
				wantOK(t, r)
				return
			}
			wantRefused(t, r, "DEPTH_LIMIT_EXCEEDED")
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
		})
	}
}

// newTenantFlat makes an organization with one domain through the data
// layer, for tests whose configuration would refuse newTenant's queries.
func newTenantFlat(t testing.TB, e *servertest.Env, name string) *tenant {
	t.Helper()
	tn := &tenant{Name: name, Org: createOrg(t, e, "Org "+name)}
	tn.Token = e.Token(t, pulid.ID(tn.Org))
	d, err := e.App.DB.Client.Domain.Create().
		SetOrganizationID(pulid.ID(tn.Org)).
		SetName(name + ".example").
		Save(e.Admin())
	if err != nil {
		t.Fatal(err)
	}
	tn.Domain = string(d.ID)
	return tn
}

func TestLimits_PageSize(t *testing.T) {
	e := servertest.New(t, nil) // max_page_size 100
	a := newTenant(t, e, "a")
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		code  string // "" for success
	}{
		{"first at the limit", `{ domains(first: 100) { totalCount } }`, nil, ""},
		{"last at the limit", `{ domains(last: 100) { totalCount } }`, nil, ""},
		{"first 1000", `{ domains(first: 1000) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"last 1000", `{ domains(last: 1000) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"first 101", `{ mailboxes(first: 101) { edges { node { id } } } }`, nil, "BAD_USER_INPUT"},
		{"negative first", `{ domains(first: -1) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"first from a variable", `query($n: Int) { messages(first: $n) { totalCount } }`,
			map[string]any{"n": 1000}, "BAD_USER_INPUT"},
		{"nested connection", `{ domains(first: 1) { edges { node {
			accounts(first: 1000) { totalCount } } } } }`, nil, "BAD_USER_INPUT"},
		{"nested under node", `query($id: ID!) { node(id: $id) { ... on Mailbox {
			messages(first: 1000) { totalCount } } } }`,
			map[string]any{"id": a.Inbox}, "BAD_USER_INPUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, a.Token, tc.query, tc.vars)
			if tc.code == "" {
				wantOK(t, r)
				return
			}
			wantCode(t, r, tc.code)
			if !strings.Contains(r.Errors[0].Message, "100") {
				t.Errorf("message %q does not give the limit", r.Errors[0].Message)
			}
		})
	}
}

// page is a connection's first page.
type page struct {
	TotalCount int
	Edges      []struct{ Node struct{ ID string } }
	PageInfo   struct{ HasNextPage bool }
}

func TestLimits_DefaultPageSize(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) { c.HTTP.DefaultPageSize = 3 })
	a := newTenant(t, e, "a") // 6 mailboxes, 1 alias, 1 account, 1 message
	for i := range 4 {
		createAlias(t, e, a.Token, a.Domain, fmt.Sprintf("more%d", i))
		insertMessage(t, e, a, a.Inbox, uint32(i+2), fmt.Sprintf("more %d", i))
		_, err := e.App.DB.Client.Account.Create().
			SetOrganizationID(pulid.ID(a.Org)).
			SetDomainID(pulid.ID(a.Domain)).
			SetLocalPart(fmt.Sprintf("more%d", i)).
			SetEmail(fmt.Sprintf("more%d@a.example", i)).
			Save(e.Admin())
		if err != nil {
			t.Fatal(err)
		}
	}
	const fields = `totalCount edges { node { id } } pageInfo { hasNextPage }`
	tests := []struct {
		name  string
		query string
		path  []string // to the connection in data
		total int
		size  int
	}{
		{"mailboxes", `{ mailboxes { ` + fields + ` } }`, []string{"mailboxes"}, 6, 3},
		{"aliases", `{ aliases { ` + fields + ` } }`, []string{"aliases"}, 5, 3},
		{"messages", `{ messages { ` + fields + ` } }`, []string{"messages"}, 5, 3},
		{"explicit first above the default", `{ mailboxes(first: 5) { ` + fields + ` } }`,
			[]string{"mailboxes"}, 6, 5},
		{"last", `{ mailboxes(last: 2) { ` + fields + ` } }`, []string{"mailboxes"}, 6, 2},
		{"nested accounts of a domain", `query($dom: ID!) { node(id: $dom) {
			... on Domain { accounts { ` + fields + ` } } } }`,
			[]string{"node", "accounts"}, 5, 3},
		{"nested accounts in a list", `{ domains { edges { node {
			accounts { ` + fields + ` } } } } }`,
			[]string{"domains", "edges", "0", "node", "accounts"}, 5, 3},
		{"nested messages of a mailbox", `query($inbox: ID!) { node(id: $inbox) {
			... on Mailbox { messages { ` + fields + ` } } } }`,
			[]string{"node", "messages"}, 5, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, a.Token, tc.query, map[string]any{"dom": a.Domain, "inbox": a.Inbox})
			wantOK(t, r)
			var p page
			dig(t, r.Data, tc.path, &p)
			if len(p.Edges) != tc.size || p.TotalCount != tc.total {
				t.Errorf("%d edges of %d, want %d of %d",
					len(p.Edges), p.TotalCount, tc.size, tc.total)
			}
			if tc.size < tc.total && !p.PageInfo.HasNextPage && tc.name != "last" {
				t.Errorf("hasNextPage = false with %d of %d rows shown", tc.size, tc.total)
			}
		})
	}
}

// dig decodes the value at path (object keys and array indexes) in data
// into v.
func dig(t testing.TB, data json.RawMessage, path []string, v any) {
	t.Helper()
	cur := data
	for _, p := range path {
		var next json.RawMessage
		if len(cur) > 0 && cur[0] == '[' {
			var arr []json.RawMessage
			if err := json.Unmarshal(cur, &arr); err != nil {
				t.Fatalf("decode %s: %v", cur, err)
			}
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(arr) {
				t.Fatalf("no element %s in %s", p, cur)
			}
			next = arr[i]
		} else {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(cur, &obj); err != nil {
				t.Fatalf("decode %s: %v", cur, err)
			}
			var ok bool
			if next, ok = obj[p]; !ok {
				t.Fatalf("no %s in %s", p, cur)
			}
		}
		cur = next
	}
	if err := json.Unmarshal(cur, v); err != nil {
		t.Fatalf("decode %s: %v", cur, err)
	}
}

func TestLimits_Complexity(t *testing.T) {
	e := servertest.New(t, func(c *config.Config) { c.HTTP.MaxComplexity = 200 })
	a := newTenantFlat(t, e, "a")
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = string(pulid.New("dom"))
	}
	tests := []struct {
		name  string
		query string
		ok    bool
	}{
		{"small", `{ domains(first: 10) { edges { node { id name } } } }`, true},
		{"default page size is costed, within", `{ domains { edges { node { id name } } } }`, true},
		{"large page", `{ domains(first: 100) { edges { node { id name } } } }`, false},
		{"nested connections at the default page size", `{ domains { edges { node {
			accounts { edges { node { id } } } } } } }`, false},
		{"many aliases of one field", `{
			a: domains(first: 40) { totalCount } b: domains(first: 40) { totalCount }
			c: domains(first: 40) { totalCount } d: domains(first: 40) { totalCount }
			e: domains(first: 40) { totalCount } }`, false},
		{"many nodes", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, a.Token, tc.query, map[string]any{"ids": ids})
			if tc.ok {
				wantOK(t, r)
				return
			}
			wantRefused(t, r, "COMPLEXITY_LIMIT_EXCEEDED")
		})
	}
}

func TestLimits_Introspection(t *testing.T) {
	queries := []struct{ name, query string }{
		{"__schema", `{ __schema { queryType { name } } }`},
		{"__type", `{ __type(name: "Domain") { name fields { name } } }`},
	}
	t.Run("disabled", func(t *testing.T) {
		e := servertest.New(t, func(c *config.Config) { c.HTTP.Introspection = false })
		a := newTenantFlat(t, e, "a")
		wantOK(t, e.Do(t, a.Token, `{ __typename }`, nil)) // control
		for _, tc := range queries {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(t, a.Token, tc.query, nil)
				if len(r.Errors) == 0 {
					t.Fatalf("no error; data %s", r.Data)
				}
				if strings.Contains(string(r.Data), "Domain") ||
					strings.Contains(string(r.Data), "Query") {
					t.Errorf("data %s reveals the schema", r.Data)
				}
				// A disabled feature is not a server fault: it should
				// not be reported (and logged) as an internal error.
				if got := r.Code(); got == "INTERNAL" {
					t.Errorf("extensions.code = %q (%q), want a client error code",
						got, r.Errors[0].Message)
				}
			})
		}
	})
	t.Run("enabled", func(t *testing.T) {
		e := servertest.New(t, nil)
		a := newTenantFlat(t, e, "a")
		for _, tc := range queries {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(t, a.Token, tc.query, nil)
				wantOK(t, r)
				if !strings.Contains(string(r.Data), `"name":"`) {
					t.Errorf("data = %s", r.Data)
				}
			})
		}
	})
}
