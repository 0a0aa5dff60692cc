package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/apikey"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/servertest"
)

// tenant is an organization holding one row of every type the GraphQL API
// exposes, and a token for it with every scope.
type tenant struct {
	Name      string
	Org       string
	Domain    string // <name>.example
	Account   string // user@<name>.example, with its standard mailboxes
	Mailboxes []string
	Inbox     string
	Alias     string // team@<name>.example
	APIKey    string
	Message   string // in Inbox
	Token     string
}

// ids returns the tenant's row of each GraphQL type, by type name.
func (tn *tenant) ids() map[string]string {
	return map[string]string{
		"Organization": tn.Org,
		"Domain":       tn.Domain,
		"Account":      tn.Account,
		"Alias":        tn.Alias,
		"APIKey":       tn.APIKey,
		"Mailbox":      tn.Inbox,
		"Message":      tn.Message,
	}
}

// createOrg adds an organization directly through the data layer, as the
// CLI does.
func createOrg(t testing.TB, e *servertest.Env, name string) string {
	t.Helper()
	o, err := e.App.DB.Client.Organization.Create().SetName(name).Save(e.Admin())
	if err != nil {
		t.Fatalf("create organization %s: %v", name, err)
	}
	return string(o.ID)
}

// newTenant creates an organization and fills it through the API with
// the organization's own token. Only the message, which has no create
// mutation, is inserted through the data layer.
func newTenant(t testing.TB, e *servertest.Env, name string) *tenant {
	t.Helper()
	tn := &tenant{Name: name, Org: createOrg(t, e, "Org "+name)}
	tn.Token = e.Token(t, pulid.ID(tn.Org))

	tn.Domain = createDomain(t, e, tn.Token, name+".example")

	var acc struct {
		CreateAccount struct {
			Account struct {
				ID        string
				Mailboxes []struct{ ID, Name string }
			}
		}
	}
	mustDo(t, e, tn.Token, `mutation($in: CreateAccountInput!) {
		createAccount(input: $in) { account { id mailboxes { id name } } }
	}`, map[string]any{"in": map[string]any{"localPart": "user", "domainID": tn.Domain}}, &acc)
	tn.Account = acc.CreateAccount.Account.ID
	for _, m := range acc.CreateAccount.Account.Mailboxes {
		tn.Mailboxes = append(tn.Mailboxes, m.ID)
		if m.Name == "INBOX" {
			tn.Inbox = m.ID
		}
	}
	if len(tn.Mailboxes) != 6 || tn.Inbox == "" {
		t.Fatalf("createAccount made mailboxes %+v, want the 6 standard ones",
			acc.CreateAccount.Account.Mailboxes)
	}

	tn.Alias = createAlias(t, e, tn.Token, tn.Domain, "team")

	var key struct {
		CreateAPIKey struct{ APIKey struct{ ID string } }
	}
	mustDo(t, e, tn.Token, `mutation { createAPIKey(input: {name: "ci"}) { apiKey { id } } }`,
		nil, &key)
	tn.APIKey = key.CreateAPIKey.APIKey.ID

	tn.Message = insertMessage(t, e, tn, tn.Inbox, 1, "hello from "+name)
	return tn
}

// createDomain adds a domain with bearer's credential and returns its id.
func createDomain(t testing.TB, e *servertest.Env, bearer, name string) string {
	t.Helper()
	var out struct{ CreateDomain struct{ ID string } }
	mustDo(t, e, bearer, `mutation($name: String!) {
		createDomain(input: {name: $name}) { id }
	}`, map[string]any{"name": name}, &out)
	return out.CreateDomain.ID
}

// createAlias adds local@domain delivering to a remote address.
func createAlias(t testing.TB, e *servertest.Env, bearer, domain, local string) string {
	t.Helper()
	var out struct{ CreateAlias struct{ ID string } }
	mustDo(t, e, bearer, `mutation($in: CreateAliasInput!) { createAlias(input: $in) { id } }`,
		map[string]any{"in": map[string]any{
			"localPart": local, "domainID": domain, "destinations": []string{"dest@remote.example"},
		}}, &out)
	return out.CreateAlias.ID
}

// createAPIKey makes an API key with bearer's credential and returns its id
// and secret.
func createAPIKey(t testing.TB, e *servertest.Env, bearer string,
	in map[string]any) (string, string) {
	t.Helper()
	var out struct {
		CreateAPIKey struct {
			APIKey struct{ ID string }
			Secret string
		}
	}
	mustDo(t, e, bearer, `mutation($in: CreateAPIKeyInput!) {
		createAPIKey(input: $in) { apiKey { id } secret }
	}`, map[string]any{"in": in}, &out)
	return out.CreateAPIKey.APIKey.ID, out.CreateAPIKey.Secret
}

// insertMessage stores a message in mailbox (of tn's account) through the
// data layer: a blob first, then the message that points at it.
func insertMessage(t testing.TB, e *servertest.Env, tn *tenant, mailbox string, uid uint32,
	subject string) string {
	t.Helper()
	c, ctx := e.App.DB.Client, e.Admin()
	raw := fmt.Sprintf("Subject: %s\r\n\r\nbody %d\r\n", subject, uid)
	sum := sha256.Sum256([]byte(raw))
	hexSum := hex.EncodeToString(sum[:])
	b, err := c.Blob.Create().
		SetOrganizationID(pulid.ID(tn.Org)).
		SetSha256(hexSum).
		SetSize(int64(len(raw))).
		SetKey("test/" + hexSum).
		Save(ctx)
	if err != nil {
		t.Fatalf("insert blob: %v", err)
	}
	m, err := c.Message.Create().
		SetOrganizationID(pulid.ID(tn.Org)).
		SetAccountID(pulid.ID(tn.Account)).
		SetMailboxID(pulid.ID(mailbox)).
		SetBlobID(b.ID).
		SetUID(uid).
		SetInternalDate(time.Now()).
		SetSize(int64(len(raw))).
		SetSubject(subject).
		Save(ctx)
	if err != nil {
		t.Fatalf("insert message: %v", err)
	}
	return string(m.ID)
}

// mustDo runs a GraphQL request that must succeed and decodes its data
// into out (when not nil).
func mustDo(t testing.TB, e *servertest.Env, bearer, query string, vars map[string]any, out any) {
	t.Helper()
	r := e.Do(t, bearer, query, vars)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
	}
	if out == nil {
		out = new(map[string]any)
	}
	r.Decode(t, out)
}

// wantCode checks that r failed with code in extensions.code and that its
// data holds none of the ids in hidden.
func wantCode(t testing.TB, r *servertest.Response, code string, hidden ...string) {
	t.Helper()
	if len(r.Errors) == 0 {
		t.Errorf("no error (data %s), want %s", r.Data, code)
	} else if got := r.Code(); got != code {
		t.Errorf("extensions.code = %q (message %q), want %q", got, r.Errors[0].Message, code)
	}
	for _, id := range hidden {
		if id != "" && bytes.Contains(r.Data, []byte(id)) {
			t.Errorf("data %s reveals %s", r.Data, id)
		}
	}
}

// wantOK checks that r succeeded.
func wantOK(t testing.TB, r *servertest.Response) {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Errorf("status %d, errors %+v; want success", r.Status, r.Errors)
	}
}

// worldQuery reads every row an organization can see, with the fields the
// isolation tests try to change.
const worldQuery = `{
	organizations { totalCount edges { node {
		id name updatedAt maxDomains maxAccounts disabled } } }
	domains { totalCount edges { node {
		id name updatedAt sendLimitPerHour dkimSelector trackOpens } } }
	accounts { totalCount edges { node {
		id email updatedAt displayName quotaBytes disabled } } }
	aliases { totalCount edges { node { id email updatedAt destinations } } }
	apiKeys { totalCount edges { node { id name updatedAt scopes expiresAt } } }
	mailboxes { totalCount edges { node { id name updatedAt } } }
	messages { totalCount edges { node { id subject updatedAt mailboxID } } }
}`

// world returns everything tn's token can read, plus the password hashes
// of tn's accounts (which no API shows), so that a test can tell whether
// anything of tn's changed.
func world(t testing.TB, e *servertest.Env, tn *tenant) map[string]any {
	t.Helper()
	var w map[string]any
	mustDo(t, e, tn.Token, worldQuery, nil, &w)
	accs, err := e.App.DB.Client.Account.Query().
		Where(account.OrganizationID(pulid.ID(tn.Org))).
		Order(ent.Asc(account.FieldID)).
		All(e.Admin())
	if err != nil {
		t.Fatalf("read password hashes: %v", err)
	}
	hashes := make([]any, 0, len(accs))
	for _, a := range accs {
		hashes = append(hashes, a.PasswordHash)
	}
	w["passwordHashes"] = hashes
	return w
}

// rowCounts counts the rows of every API-visible table, across all
// organizations.
func rowCounts(t testing.TB, e *servertest.Env) map[string]int {
	t.Helper()
	c, ctx := e.App.DB.Client, e.Admin()
	counters := map[string]func(context.Context) (int, error){
		"organizations": c.Organization.Query().Count,
		"domains":       c.Domain.Query().Count,
		"accounts":      c.Account.Query().Count,
		"aliases":       c.MailAlias.Query().Count,
		"apiKeys":       c.APIKey.Query().Count,
		"mailboxes":     c.Mailbox.Query().Count,
		"messages":      c.Message.Query().Count,
	}
	counts := make(map[string]int, len(counters))
	for name, count := range counters {
		n, err := count(ctx)
		if err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		counts[name] = n
	}
	return counts
}

// exists reports whether a row with id exists, whoever owns it.
func exists(t testing.TB, e *servertest.Env, id string) bool {
	t.Helper()
	_, err := e.App.DB.Client.Noder(e.Admin(), pulid.ID(id), ent.WithNodeType(ent.IDToType))
	if ent.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("look up %s: %v", id, err)
	}
	return true
}

// connIDs returns the totalCount and the sorted node ids of the connection
// field in data.
func connIDs(t testing.TB, data json.RawMessage, field string) (int, []string) {
	t.Helper()
	var out map[string]struct {
		TotalCount int
		Edges      []struct{ Node struct{ ID string } }
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	c, ok := out[field]
	if !ok {
		t.Fatalf("no %s in %s", field, data)
	}
	ids := make([]string, 0, len(c.Edges))
	for _, e := range c.Edges {
		ids = append(ids, e.Node.ID)
	}
	slices.Sort(ids)
	return c.TotalCount, ids
}

// sorted returns a sorted copy of ss.
func sorted(ss ...string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// waitKeyUsed waits until the server has recorded the use of the API key
// secret. The authenticator records it in a goroutine of its own; a test
// that ended first would close the database under it.
func waitKeyUsed(t testing.TB, e *servertest.Env, secret string) {
	t.Helper()
	if !keyUseRecorded(t, e, secret, 10*time.Second) {
		t.Fatal("the API key's use was never recorded")
	}
}

// keyUseRecorded reports whether the server records the use of the API
// key secret within timeout.
func keyUseRecorded(t testing.TB, e *servertest.Env, secret string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		k, err := e.App.DB.Client.APIKey.Query().
			Where(apikey.SecretHash(auth.HashAPIKey(secret))).
			Only(e.Admin())
		if err != nil {
			t.Fatalf("look up API key: %v", err)
		}
		if k.LastUsedAt != nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawResponse is an HTTP response with its body.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// get fetches path from the server.
func get(t testing.TB, e *servertest.Env, path string) rawResponse {
	t.Helper()
	return send(t, e, http.MethodGet, path, nil, nil)
}

// send makes a request to the server.
func send(t testing.TB, e *servertest.Env, method, path string, hdr http.Header,
	body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, e.Server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
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
	return rawResponse{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// postGraphQL sends a GraphQL request with the given headers and decodes
// the response.
func postGraphQL(t testing.TB, e *servertest.Env, hdr http.Header, query string,
	vars map[string]any) (rawResponse, *servertest.Response) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Content-Type", "application/json")
	raw := send(t, e, http.MethodPost, "/graphql", hdr, body)
	out := &servertest.Response{Status: raw.Status}
	if err := json.Unmarshal(raw.Body, out); err != nil {
		t.Fatalf("status %d, body %q: %v", raw.Status, raw.Body, err)
	}
	return raw, out
}

// containsAny returns the first of words that s contains, ignoring case.
func containsAny(s string, words ...string) string {
	low := strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(low, strings.ToLower(w)) {
			return w
		}
	}
	return ""
}

// jsonDecode is json.Unmarshal, for data that may legitimately be null.
func jsonDecode(data []byte, v any) error { return json.Unmarshal(data, v) }
