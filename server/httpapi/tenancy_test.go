package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/servertest"
)

// twoTenants starts a server holding organizations A and B, each with a
// domain, an account and its mailboxes, an alias, an API key and a message.
func twoTenants(t testing.TB) (*servertest.Env, *tenant, *tenant) {
	t.Helper()
	e := servertest.New(t, nil)
	return e, newTenant(t, e, "a"), newTenant(t, e, "b")
}

// connections maps each GraphQL type to its top-level connection field.
var connections = []struct {
	typ, field string
	rows       func(*tenant) []string
}{
	{"Organization", "organizations", func(tn *tenant) []string { return []string{tn.Org} }},
	{"Domain", "domains", func(tn *tenant) []string { return []string{tn.Domain} }},
	{"Account", "accounts", func(tn *tenant) []string { return []string{tn.Account} }},
	{"Alias", "aliases", func(tn *tenant) []string { return []string{tn.Alias} }},
	{"APIKey", "apiKeys", func(tn *tenant) []string { return []string{tn.APIKey} }},
	{"Mailbox", "mailboxes", func(tn *tenant) []string { return tn.Mailboxes }},
	{"Message", "messages", func(tn *tenant) []string { return []string{tn.Message} }},
}

func TestTenancy_ListShowsOnlyOwnRows(t *testing.T) {
	e, a, b := twoTenants(t)
	for _, tc := range connections {
		t.Run(tc.typ, func(t *testing.T) {
			q := fmt.Sprintf(`{ %s(first: 100) { totalCount edges { node { id } } } }`, tc.field)
			for _, tn := range []*tenant{b, a} { // a is the positive control
				r := e.Do(t, tn.Token, q, nil)
				wantOK(t, r)
				n, got := connIDs(t, r.Data, tc.field)
				want := sorted(tc.rows(tn)...)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s lists (-own +got):\n%s", tn.Name, diff)
				}
				if n != len(want) {
					t.Errorf("%s: totalCount = %d, want %d", tn.Name, n, len(want))
				}
			}
		})
	}
}

func TestTenancy_FilterByOtherOrganizationsID(t *testing.T) {
	e, a, b := twoTenants(t)
	for _, tc := range connections {
		t.Run(tc.typ, func(t *testing.T) {
			q := fmt.Sprintf(`query($id: ID!) {
				%s(where: {id: $id}) { totalCount edges { node { id } } }
			}`, tc.field)
			id := tc.rows(a)[0]
			vars := map[string]any{"id": id}

			r := e.Do(t, b.Token, q, vars)
			wantOK(t, r)
			if n, got := connIDs(t, r.Data, tc.field); n != 0 || len(got) != 0 {
				t.Errorf("b filtering by a's %s: totalCount %d, ids %v; want nothing", id, n, got)
			}

			// Positive control: the filter does find the row for its owner.
			r = e.Do(t, a.Token, q, vars)
			wantOK(t, r)
			if n, got := connIDs(t, r.Data, tc.field); n != 1 || len(got) != 1 || got[0] != id {
				t.Errorf("a filtering by its own %s: totalCount %d, ids %v", id, n, got)
			}
		})
	}
}

// nodeQuery asks for a node with a field of every type, so that a leak
// would show more than the id.
const nodeQuery = `query($id: ID!) { node(id: $id) { id ...fields } }` + nodeFields

const nodesQuery = `query($ids: [ID!]!) { nodes(ids: $ids) { id ...fields } }` + nodeFields

const nodeFields = `
fragment fields on Node {
	... on Organization { name }
	... on Domain { name }
	... on Account { email }
	... on Alias { email destinations }
	... on APIKey { name prefix }
	... on Mailbox { name }
	... on Message { subject }
}`

func TestTenancy_NodeHidesOtherOrganizations(t *testing.T) {
	e, a, b := twoTenants(t)
	for _, tc := range connections {
		t.Run(tc.typ, func(t *testing.T) {
			aID, bID := a.ids()[tc.typ], b.ids()[tc.typ]

			t.Run("node", func(t *testing.T) {
				r := e.Do(t, b.Token, nodeQuery, map[string]any{"id": aID})
				wantCode(t, r, "NOT_FOUND", aID)
				var out struct{ Node *struct{ ID string } }
				if err := jsonDecode(r.Data, &out); err != nil || out.Node != nil {
					t.Errorf("node = %s, want null", r.Data)
				}
			})
			t.Run("nodes", func(t *testing.T) {
				r := e.Do(t, b.Token, nodesQuery, map[string]any{"ids": []string{aID}})
				wantCode(t, r, "NOT_FOUND", aID)
			})
			t.Run("nodes mixed with own", func(t *testing.T) {
				r := e.Do(t, b.Token, nodesQuery, map[string]any{"ids": []string{aID, bID}})
				wantCode(t, r, "NOT_FOUND", aID)
				var out struct{ Nodes []*struct{ ID string } }
				if err := jsonDecode(r.Data, &out); err != nil {
					t.Fatalf("decode %s: %v", r.Data, err)
				}
				if len(out.Nodes) != 2 || out.Nodes[0] != nil || out.Nodes[1] == nil ||
					out.Nodes[1].ID != bID {
					t.Errorf("nodes = %s, want [null, {id: %s}]", r.Data, bID)
				}
			})
			t.Run("owner control", func(t *testing.T) {
				var out struct{ Node struct{ ID string } }
				mustDo(t, e, a.Token, nodeQuery, map[string]any{"id": aID}, &out)
				if out.Node.ID != aID {
					t.Errorf("a's node(%s) = %+v", aID, out.Node)
				}
			})
		})
	}
}

// crossTenantCase is an operation that organization B tries on A's rows.
// The same operation by its owner (A, or the server admin for
// admin-only operations) is the positive control.
type crossTenantCase struct {
	name  string
	query string
	vars  func(a *tenant) map[string]any
	code  string
	admin bool // only the server admin may do it, even to its own organization
}

// ownerBearer returns the credential of the party allowed to run tc.
func (tc crossTenantCase) ownerBearer(e *servertest.Env, a *tenant) string {
	if tc.admin {
		return e.AdminKey
	}
	return a.Token
}

func TestTenancy_UpdateOtherOrganization(t *testing.T) {
	e, a, b := twoTenants(t)
	tests := []crossTenantCase{
		{
			name: "updateDomain",
			query: `mutation($id: ID!) {
				updateDomain(id: $id, input: {sendLimitPerHour: 7}) { id }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Domain} },
			code: "NOT_FOUND",
		},
		{
			name: "updateAccount",
			query: `mutation($id: ID!) {
				updateAccount(id: $id, input: {displayName: "pwned", disabled: true}) { id }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Account} },
			code: "NOT_FOUND",
		},
		{
			name: "setAccountPassword",
			query: `mutation($id: ID!) {
				setAccountPassword(id: $id, password: "Str0ng-and-l0ng-passw0rd") { account { id } }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Account} },
			code: "NOT_FOUND",
		},
		{
			name: "setAccountPassword generated",
			query: `mutation($id: ID!) {
				setAccountPassword(id: $id) { account { id } generatedPassword }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Account} },
			code: "NOT_FOUND",
		},
		{
			name: "updateAlias",
			query: `mutation($id: ID!) {
				updateAlias(id: $id, input: {destinations: ["thief@evil.example"]}) { id }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Alias} },
			code: "NOT_FOUND",
		},
		{
			name: "updateAlias appendDestinations",
			query: `mutation($id: ID!) {
				updateAlias(id: $id, input: {appendDestinations: ["thief@evil.example"]}) { id }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.Alias} },
			code: "NOT_FOUND",
		},
		{
			name:  "updateAPIKey",
			query: `mutation($id: ID!) { updateAPIKey(id: $id, input: {name: "pwned"}) { id } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.APIKey} },
			code:  "NOT_FOUND",
		},
		{
			name: "updateAPIKey scopes",
			query: `mutation($id: ID!) {
				updateAPIKey(id: $id, input: {scopes: ["read"]}) { id }
			}`,
			vars: func(a *tenant) map[string]any { return map[string]any{"id": a.APIKey} },
			code: "NOT_FOUND",
		},
		{
			name: "updateOrganization",
			query: `mutation($id: ID!) {
				updateOrganization(id: $id, input: {name: "pwned", maxDomains: 1}) { id }
			}`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.Org} },
			code:  "FORBIDDEN",
			admin: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := world(t, e, a)
			r := e.Do(t, b.Token, tc.query, tc.vars(a))
			wantCode(t, r, tc.code, a.Org, a.Domain, a.Account, a.Alias, a.APIKey)
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("b's %s changed a's rows (-before +after):\n%s", tc.name, diff)
			}

			// Positive control: the owner's identical request does change
			// the row, so the request above was not refused for another
			// reason.
			bearer := tc.ownerBearer(e, a)
			wantOK(t, e.Do(t, bearer, tc.query, tc.vars(a)))
			if tc.admin {
				waitKeyUsed(t, e, bearer)
			}
			if cmp.Equal(before, world(t, e, a)) {
				t.Errorf("the owner's %s changed nothing either", tc.name)
			}
		})
	}
}

func TestTenancy_DeleteOtherOrganization(t *testing.T) {
	e, a, b := twoTenants(t)
	// The positive controls delete a's rows in turn, so the order matters:
	// a domain with accounts cannot be deleted, nor an organization with
	// domains.
	tests := []crossTenantCase{
		{
			name:  "deleteAlias",
			query: `mutation($id: ID!) { deleteAlias(id: $id) { deletedID } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.Alias} },
			code:  "NOT_FOUND",
		},
		{
			name:  "deleteAPIKey",
			query: `mutation($id: ID!) { deleteAPIKey(id: $id) { deletedID } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.APIKey} },
			code:  "NOT_FOUND",
		},
		{
			name:  "deleteAccount",
			query: `mutation($id: ID!) { deleteAccount(id: $id) { deletedID } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.Account} },
			code:  "NOT_FOUND",
		},
		{
			name:  "deleteDomain",
			query: `mutation($id: ID!) { deleteDomain(id: $id) { deletedID } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.Domain} },
			code:  "NOT_FOUND",
		},
		{
			name:  "deleteOrganization",
			query: `mutation($id: ID!) { deleteOrganization(id: $id) { deletedID } }`,
			vars:  func(a *tenant) map[string]any { return map[string]any{"id": a.Org} },
			code:  "FORBIDDEN",
			admin: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.vars(a)["id"].(string)
			before := world(t, e, a)
			r := e.Do(t, b.Token, tc.query, tc.vars(a))
			wantCode(t, r, tc.code, id)
			if !exists(t, e, id) {
				t.Fatalf("b's %s deleted a's %s", tc.name, id)
			}
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("b's %s changed a's rows (-before +after):\n%s", tc.name, diff)
			}

			// Positive control.
			bearer := tc.ownerBearer(e, a)
			wantOK(t, e.Do(t, bearer, tc.query, tc.vars(a)))
			if tc.admin {
				waitKeyUsed(t, e, bearer)
			}
			if exists(t, e, id) {
				t.Errorf("the owner's %s did not delete %s either", tc.name, id)
			}
		})
	}
}

// linkCase is a create that B points at A's rows (other) or at its own
// (own, the positive control).
type linkCase struct {
	name       string
	query      string
	other, own map[string]any
	code       string
}

func TestTenancy_LinkToOtherOrganization(t *testing.T) {
	e, a, b := twoTenants(t)
	missingOrg := string(pulid.New("org"))
	missingDomain := string(pulid.New("dom"))
	createAccount := `mutation($dom: ID!, $local: String!) {
		createAccount(input: {localPart: $local, domainID: $dom}) { account { id } }
	}`
	createAlias := `mutation($dom: ID!, $local: String!) {
		createAlias(input: {localPart: $local, domainID: $dom,
			destinations: ["x@remote.example"]}) { id }
	}`
	createDomain := `mutation($org: ID, $name: String!) {
		createDomain(input: {name: $name}, organizationID: $org) { id }
	}`
	createKey := `mutation($org: ID, $name: String!) {
		createAPIKey(input: {name: $name}, organizationID: $org) { apiKey { id } secret }
	}`
	issueToken := `mutation($org: ID) {
		issueToken(organizationID: $org) { token organizationID }
	}`
	tests := []linkCase{
		{
			name:  "createAccount in a's domain",
			query: createAccount,
			other: map[string]any{"dom": a.Domain, "local": "spy"},
			own:   map[string]any{"dom": b.Domain, "local": "spy"},
			code:  "NOT_FOUND",
		},
		{
			name:  "createAccount in a missing domain",
			query: createAccount,
			other: map[string]any{"dom": missingDomain, "local": "spy2"},
			own:   map[string]any{"dom": b.Domain, "local": "spy2"},
			code:  "NOT_FOUND",
		},
		{
			name:  "createAlias in a's domain",
			query: createAlias,
			other: map[string]any{"dom": a.Domain, "local": "spy"},
			own:   map[string]any{"dom": b.Domain, "local": "spy3"},
			code:  "NOT_FOUND",
		},
		{
			name:  "createDomain for a",
			query: createDomain,
			other: map[string]any{"org": a.Org, "name": "x.example"},
			own:   map[string]any{"org": b.Org, "name": "x.example"},
			code:  "FORBIDDEN",
		},
		{
			name:  "createDomain for a missing organization",
			query: createDomain,
			other: map[string]any{"org": missingOrg, "name": "y.example"},
			own:   map[string]any{"name": "y.example"},
			code:  "FORBIDDEN",
		},
		{
			name:  "createAPIKey for a",
			query: createKey,
			other: map[string]any{"org": a.Org, "name": "spy"},
			own:   map[string]any{"org": b.Org, "name": "spy"},
			code:  "FORBIDDEN",
		},
		{
			name:  "createAPIKey for a missing organization",
			query: createKey,
			other: map[string]any{"org": missingOrg, "name": "spy"},
			own:   map[string]any{"name": "spy"},
			code:  "FORBIDDEN",
		},
		{
			name:  "issueToken for a",
			query: issueToken,
			other: map[string]any{"org": a.Org},
			own:   map[string]any{"org": b.Org},
			code:  "FORBIDDEN",
		},
		{
			name:  "issueToken for a missing organization",
			query: issueToken,
			other: map[string]any{"org": missingOrg},
			own:   map[string]any{},
			code:  "FORBIDDEN",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			beforeA, beforeB, counts := world(t, e, a), world(t, e, b), rowCounts(t, e)
			r := e.Do(t, b.Token, tc.query, tc.other)
			wantCode(t, r, tc.code)
			if string(r.Data) != "null" && len(r.Data) != 0 {
				t.Errorf("data = %s, want null", r.Data)
			}
			if diff := cmp.Diff(beforeA, world(t, e, a)); diff != "" {
				t.Errorf("a's rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeB, world(t, e, b)); diff != "" {
				t.Errorf("b's rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows were created (-before +after):\n%s", diff)
			}

			// Positive control: the same create in b's own organization.
			wantOK(t, e.Do(t, b.Token, tc.query, tc.own))
		})
	}
}

func TestTenancy_OrganizationIsAdminOnly(t *testing.T) {
	e, a, _ := twoTenants(t)
	// A tenant reads its own organization but may not change or delete it,
	// nor create organizations.
	var out struct{ Node struct{ ID, Name string } }
	mustDo(t, e, a.Token, nodeQuery, map[string]any{"id": a.Org}, &out)
	if out.Node.ID != a.Org {
		t.Fatalf("a's own organization: %+v", out.Node)
	}
	tests := []struct {
		name, query string
	}{
		{"createOrganization", `mutation { createOrganization(input: {name: "mine"}) { id } }`},
		{"updateOrganization", `mutation($id: ID!) {
			updateOrganization(id: $id, input: {maxDomains: 1000}) { id } }`},
		{"deleteOrganization", `mutation($id: ID!) { deleteOrganization(id: $id) { deletedID } }`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, counts := world(t, e, a), rowCounts(t, e)
			r := e.Do(t, a.Token, tc.query, map[string]any{"id": a.Org})
			wantCode(t, r, "FORBIDDEN")
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("a's rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
		})
	}
}
