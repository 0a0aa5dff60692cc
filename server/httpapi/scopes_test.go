package httpapi_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/servertest"
)

// mutationCase is one mutation, with variables drawn from a tenant's rows.
type mutationCase struct {
	name  string
	query string
	vars  func(tn *tenant) map[string]any
}

// everyMutation lists every mutation of the API, aimed at tn's own rows.
// emptyDomain is a domain of tn without accounts.
func everyMutation(emptyDomain string) []mutationCase {
	id := func(pick func(*tenant) string) func(*tenant) map[string]any {
		return func(tn *tenant) map[string]any { return map[string]any{"id": pick(tn)} }
	}
	org := func(tn *tenant) string { return tn.Org }
	dom := func(tn *tenant) string { return tn.Domain }
	acc := func(tn *tenant) string { return tn.Account }
	ali := func(tn *tenant) string { return tn.Alias }
	key := func(tn *tenant) string { return tn.APIKey }
	none := func(*tenant) map[string]any { return nil }
	return []mutationCase{
		{"createOrganization", `mutation { createOrganization(input: {name: "x"}) { id } }`, none},
		{"updateOrganization", `mutation($id: ID!) {
			updateOrganization(id: $id, input: {name: "x"}) { id } }`, id(org)},
		{"deleteOrganization", `mutation($id: ID!) {
			deleteOrganization(id: $id) { deletedID } }`, id(org)},
		{"createDomain", `mutation { createDomain(input: {name: "new.example"}) { id } }`, none},
		{"updateDomain", `mutation($id: ID!) {
			updateDomain(id: $id, input: {sendLimitPerHour: 1}) { id } }`, id(dom)},
		{"deleteDomain", `mutation($id: ID!) { deleteDomain(id: $id) { deletedID } }`,
			func(*tenant) map[string]any { return map[string]any{"id": emptyDomain} }},
		{"deleteDomain with accounts", `mutation($id: ID!) {
			deleteDomain(id: $id) { deletedID } }`, id(dom)},
		{"createAccount", `mutation($id: ID!) {
			createAccount(input: {localPart: "new", domainID: $id}) { account { id } } }`, id(dom)},
		{"updateAccount", `mutation($id: ID!) {
			updateAccount(id: $id, input: {displayName: "x"}) { id } }`, id(acc)},
		{"setAccountPassword", `mutation($id: ID!) {
			setAccountPassword(id: $id) { generatedPassword } }`, id(acc)},
		{"deleteAccount", `mutation($id: ID!) { deleteAccount(id: $id) { deletedID } }`, id(acc)},
		{"createAlias", `mutation($id: ID!) {
			createAlias(input: {localPart: "new", domainID: $id,
				destinations: ["x@remote.example"]}) { id } }`, id(dom)},
		{"updateAlias", `mutation($id: ID!) {
			updateAlias(id: $id, input: {appendDestinations: ["y@remote.example"]}) { id } }`,
			id(ali)},
		{"deleteAlias", `mutation($id: ID!) { deleteAlias(id: $id) { deletedID } }`, id(ali)},
		{"createAPIKey", `mutation { createAPIKey(input: {name: "new"}) { secret } }`, none},
		{"updateAPIKey", `mutation($id: ID!) {
			updateAPIKey(id: $id, input: {name: "x"}) { id } }`, id(key)},
		{"deleteAPIKey", `mutation($id: ID!) { deleteAPIKey(id: $id) { deletedID } }`, id(key)},
		{"issueToken", `mutation { issueToken { token } }`, none},
	}
}

func TestScopes_ReadOnlyCannotMutate(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	empty := createDomain(t, e, a.Token, "empty.a.example")
	ro := *a
	ro.Token = e.Token(t, pulid.ID(a.Org), "read")

	// Positive control: a read-only token reads everything a full one does.
	if diff := cmp.Diff(world(t, e, a), world(t, e, &ro)); diff != "" {
		t.Fatalf("read-only token sees less (-full +read-only):\n%s", diff)
	}
	for _, tc := range everyMutation(empty) {
		t.Run(tc.name, func(t *testing.T) {
			before, counts := world(t, e, a), rowCounts(t, e)
			r := e.Do(t, ro.Token, tc.query, tc.vars(a))
			wantCode(t, r, "FORBIDDEN")
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows created or deleted (-before +after):\n%s", diff)
			}
		})
	}
}

func TestScopes_NoReadScopeCannotQuery(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	send := e.Token(t, pulid.ID(a.Org), "send")
	for _, tc := range connections {
		if tc.typ == "Organization" {
			continue // a viewer always reads its own organization
		}
		t.Run(tc.typ, func(t *testing.T) {
			r := e.Do(t, send, `{ `+tc.field+` { totalCount edges { node { id } } } }`, nil)
			wantCode(t, r, "FORBIDDEN", tc.rows(a)...)
		})
	}
}

func TestScopes_KeysScopeGuardsCredentials(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	noKeys := e.Token(t, pulid.ID(a.Org), "read", "write", "send")
	tests := []mutationCase{}
	for _, tc := range everyMutation("") {
		switch tc.name {
		case "createAPIKey", "updateAPIKey", "deleteAPIKey", "issueToken":
			tests = append(tests, tc)
		}
	}
	tests = append(tests, mutationCase{"issueToken with narrower scopes", `mutation {
		issueToken(scopes: ["read"]) { token } }`, func(*tenant) map[string]any { return nil }})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, counts := world(t, e, a), rowCounts(t, e)
			r := e.Do(t, noKeys, tc.query, tc.vars(a))
			wantCode(t, r, "FORBIDDEN")
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows created or deleted (-before +after):\n%s", diff)
			}
		})
	}

	// Positive control: the token does write where it holds the scope.
	wantOK(t, e.Do(t, noKeys, `mutation($id: ID!) {
		updateDomain(id: $id, input: {sendLimitPerHour: 5}) { id } }`,
		map[string]any{"id": a.Domain}))
}

// keyScopes returns the stored scopes of the API key id.
func keyScopes(t testing.TB, e *servertest.Env, id string) []string {
	t.Helper()
	k, err := e.App.DB.Client.APIKey.Get(e.Admin(), pulid.ID(id))
	if err != nil {
		t.Fatalf("read API key %s: %v", id, err)
	}
	return sorted(k.Scopes...)
}

func TestScopes_CannotGrantScopesNotHeld(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	readKeys := e.Token(t, pulid.ID(a.Org), "read", "keys")
	// A key the limited token manages; escalating it would hand the
	// token's holder the scopes it lacks.
	ownKey, _ := createAPIKey(t, e, readKeys, map[string]any{"name": "own"})

	createKey := `mutation($scopes: [String!]) {
		createAPIKey(input: {name: "k", scopes: $scopes}) { apiKey { id scopes } } }`
	issue := `mutation($scopes: [String!]) { issueToken(scopes: $scopes) { token scopes } }`
	updateKey := `mutation($id: ID!, $in: UpdateAPIKeyInput!) {
		updateAPIKey(id: $id, input: $in) { id scopes } }`
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		code  string
	}{
		{"createAPIKey with write", createKey,
			map[string]any{"scopes": []string{"write"}}, "FORBIDDEN"},
		{"createAPIKey with held and unheld", createKey,
			map[string]any{"scopes": []string{"read", "send"}}, "FORBIDDEN"},
		{"createAPIKey with unknown scope", createKey,
			map[string]any{"scopes": []string{"admin"}}, "BAD_USER_INPUT"},
		{"issueToken with write", issue, map[string]any{"scopes": []string{"write"}}, "FORBIDDEN"},
		{"issueToken with unknown scope", issue,
			map[string]any{"scopes": []string{"root"}}, "BAD_USER_INPUT"},
		{"updateAPIKey scopes", updateKey, map[string]any{
			"id": ownKey, "in": map[string]any{"scopes": []string{"read", "write"}},
		}, "FORBIDDEN"},
		{"updateAPIKey appendScopes", updateKey, map[string]any{
			"id": ownKey, "in": map[string]any{"appendScopes": []string{"write", "send"}},
		}, "FORBIDDEN"},
		{"updateAPIKey appendScopes unknown", updateKey, map[string]any{
			"id": ownKey, "in": map[string]any{"appendScopes": []string{"admin"}},
		}, "BAD_USER_INPUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, counts := world(t, e, a), rowCounts(t, e)
			r := e.Do(t, readKeys, tc.query, tc.vars)
			wantCode(t, r, tc.code)
			if diff := cmp.Diff(before, world(t, e, a)); diff != "" {
				t.Errorf("rows changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(counts, rowCounts(t, e)); diff != "" {
				t.Errorf("rows created or deleted (-before +after):\n%s", diff)
			}
			if got := keyScopes(t, e, ownKey); slices.Contains(got, "write") ||
				slices.Contains(got, "send") {
				t.Errorf("the key's scopes became %v", got)
			}
		})
	}

	// Positive controls: scopes the token holds can be granted, and
	// omitted scopes default to the token's own.
	t.Run("grant held scopes", func(t *testing.T) {
		var key struct {
			CreateAPIKey struct{ APIKey struct{ Scopes []string } }
		}
		mustDo(t, e, readKeys, createKey, map[string]any{"scopes": []string{"read"}}, &key)
		if diff := cmp.Diff([]string{"read"}, key.CreateAPIKey.APIKey.Scopes); diff != "" {
			t.Errorf("createAPIKey scopes (-want +got):\n%s", diff)
		}
		mustDo(t, e, readKeys, createKey, nil, &key)
		got := sorted(key.CreateAPIKey.APIKey.Scopes...)
		if diff := cmp.Diff([]string{"keys", "read"}, got); diff != "" {
			t.Errorf("createAPIKey default scopes (-want +got):\n%s", diff)
		}
		var tok struct{ IssueToken struct{ Scopes []string } }
		mustDo(t, e, readKeys, issue, nil, &tok)
		got = sorted(tok.IssueToken.Scopes...)
		if diff := cmp.Diff([]string{"keys", "read"}, got); diff != "" {
			t.Errorf("issueToken default scopes (-want +got):\n%s", diff)
		}
	})
}

func TestScopes_IssuedTokenKeepsItsScopes(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	var out struct{ IssueToken struct{ Token string } }
	mustDo(t, e, a.Token, `mutation { issueToken(scopes: ["read"]) { token } }`, nil, &out)
	ro := out.IssueToken.Token

	wantOK(t, e.Do(t, ro, `{ domains { totalCount } }`, nil))
	r := e.Do(t, ro, `mutation($id: ID!) {
		updateDomain(id: $id, input: {sendLimitPerHour: 9}) { id } }`,
		map[string]any{"id": a.Domain})
	wantCode(t, r, "FORBIDDEN")
}
