package httpapi_test

import (
	"testing"

	"github.com/lightr-mail/lightr/ent/blob"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/servertest"
)

func TestZZDebug(t *testing.T) {
	e := servertest.New(t, nil)
	a := newTenant(t, e, "a")
	for _, q := range []string{
		`mutation($id: ID!) { deleteAccount(id: $id) { deletedID } }`,
	} {
		r := e.Do(t, a.Token, q, map[string]any{"id": a.Account})
		t.Logf("%s %+v", r.Data, r.Errors)
	}
	r := e.Do(t, a.Token, `mutation($id: ID!) { deleteDomain(id: $id) { deletedID } }`, map[string]any{"id": a.Domain})
	t.Logf("%s %+v", r.Data, r.Errors)
	n, _ := e.App.DB.Client.Blob.Query().Where(blob.OrganizationID(pulid.ID(a.Org))).Count(e.Admin())
	t.Logf("blobs left %d", n)
	r = e.Do(t, e.AdminKey, `mutation($id: ID!) { deleteOrganization(id: $id) { deletedID } }`, map[string]any{"id": a.Org})
	t.Logf("%s %+v", r.Data, r.Errors)
	waitKeyUsed(t, e, e.AdminKey)
	// org without messages
	o := createOrg(t, e, "empty")
	tok := e.Token(t, pulid.ID(o))
	d := createDomain(t, e, tok, "empty.example")
	r = e.Do(t, tok, `mutation($id: ID!) { deleteDomain(id: $id) { deletedID } }`, map[string]any{"id": d})
	t.Logf("%s %+v", r.Data, r.Errors)
	r = e.Do(t, e.AdminKey, `mutation($id: ID!) { deleteOrganization(id: $id) { deletedID } }`, map[string]any{"id": o})
	t.Logf("%s %+v", r.Data, r.Errors)
	r = e.Do(t, a.Token, `{ __schema { queryType { name } } }`, nil)
	t.Logf("%s %+v", r.Data, r.Errors)
}
