package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/graph"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

// accountEnv is a GraphQL server whose every request comes from the
// mailbox user of account one; account two is in the same organization.
type accountEnv struct {
	url      string
	c        *ent.Client
	one, two *ent.Account
	inbox    map[pulid.ID]pulid.ID // account -> INBOX
	archive  map[pulid.ID]pulid.ID // account -> Archive
}

func newAccountEnv(t *testing.T) *accountEnv {
	t.Helper()
	ctx := viewer.AdminContext(context.Background())
	d, err := db.Open(ctx, db.Options{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	org, err := d.Organization.Create().SetName("o").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := d.Domain.Create().SetOrganizationID(org.ID).SetName("o.example").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env := &accountEnv{c: d.Client, inbox: map[pulid.ID]pulid.ID{}, archive: map[pulid.ID]pulid.ID{}}
	for i, local := range []string{"one", "two"} {
		a, _, err := directory.CreateAccount(ctx, d.Client,
			ent.CreateAccountInput{DomainID: dom.ID, LocalPart: local}, "a long test password")
		if err != nil {
			t.Fatal(err)
		}
		boxes, err := a.QueryMailboxes().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			switch b.Name {
			case "INBOX":
				env.inbox[a.ID] = b.ID
			case "Archive":
				env.archive[a.ID] = b.ID
			}
		}
		if i == 0 {
			env.one = a
		} else {
			env.two = a
		}
	}

	srv := handler.New(graph.NewSchema(&graph.Resolver{Client: d.Client}, 25))
	srv.AddTransport(transport.POST{})
	srv.Use(entgql.Transactioner{TxOpener: d.Client})
	v := &viewer.Viewer{Kind: viewer.KindAccount, OrgID: org.ID, AccountID: env.one.ID}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
	}))
	t.Cleanup(hs.Close)
	env.url = hs.URL
	return env
}

// deliver stores a message for account a in its INBOX.
func (env *accountEnv) deliver(t *testing.T, a *ent.Account, subject string) pulid.ID {
	t.Helper()
	ctx := viewer.AdminContext(context.Background())
	raw := []byte("Subject: " + subject + "\r\nContent-Type: text/plain\r\n\r\ntext of " + subject)
	b, err := store.New().Save(ctx, env.c, a.OrganizationID, raw)
	if err != nil {
		t.Fatal(err)
	}
	box, err := env.c.Mailbox.UpdateOneID(env.inbox[a.ID]).AddUIDNext(1).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.c.Message.Create().SetAccountID(a.ID).SetMailboxID(box.ID).SetBlobID(b.ID).
		SetUID(box.UIDNext - 1).SetInternalDate(time.Now()).SetSize(int64(len(raw))).
		SetSubject(subject).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

type gqlResponse struct {
	Data   json.RawMessage
	Errors []struct{ Message string }
}

func (env *accountEnv) do(t *testing.T, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(env.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (env *accountEnv) message(t *testing.T, id pulid.ID) *ent.Message {
	t.Helper()
	m, err := env.c.Message.Get(viewer.AdminContext(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessages_AccountViewerSeesItsOwnAccountOnly(t *testing.T) {
	env := newAccountEnv(t)
	mine := env.deliver(t, env.one, "mine")
	theirs := env.deliver(t, env.two, "theirs")

	r := env.do(t, `{ messages { edges { node { id textBody account { id } } } } }`, nil)
	var list struct {
		Messages struct {
			Edges []struct {
				Node struct {
					ID       pulid.ID
					TextBody string
					Account  struct{ ID pulid.ID }
				}
			}
		}
	}
	if err := json.Unmarshal(r.Data, &list); err != nil || len(r.Errors) > 0 {
		t.Fatalf("list: %v %+v", err, r.Errors)
	}
	var ids []pulid.ID
	for _, e := range list.Messages.Edges {
		ids = append(ids, e.Node.ID)
		if e.Node.TextBody != "text of mine" || e.Node.Account.ID != env.one.ID {
			t.Errorf("node %+v", e.Node)
		}
	}
	if diff := cmp.Diff([]pulid.ID{mine}, ids); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}

	mutations := []struct {
		query string
		vars  map[string]any
	}{
		{`mutation($ids: [ID!]!) { markMessages(ids: $ids, seen: true) { id } }`, nil},
		{`mutation($ids: [ID!]!, $to: ID!) { moveMessages(ids: $ids, mailboxID: $to) { id } }`,
			map[string]any{"to": env.archive[env.one.ID]}},
		{`mutation($ids: [ID!]!) { deleteMessages(ids: $ids) }`, nil},
	}
	before := env.message(t, theirs)
	for _, m := range mutations {
		vars := map[string]any{"ids": []pulid.ID{theirs}}
		for k, v := range m.vars {
			vars[k] = v
		}
		if r := env.do(t, m.query, vars); len(r.Errors) == 0 {
			t.Errorf("%s on the other account's message succeeded: %s", m.query, r.Data)
		}
	}
	after := env.message(t, theirs)
	if after.Seen || after.MailboxID != before.MailboxID || after.Modseq != before.Modseq {
		t.Errorf("the other account's message changed: %+v", after)
	}

	// Positive control: its own message, moved into its own Archive.
	for _, m := range mutations {
		vars := map[string]any{"ids": []pulid.ID{mine}}
		for k, v := range m.vars {
			vars[k] = v
		}
		if r := env.do(t, m.query, vars); len(r.Errors) > 0 {
			t.Errorf("%s on its own message: %+v", m.query, r.Errors)
		}
	}
	n, err := env.c.Message.Query().Count(viewer.AdminContext(context.Background()))
	if err != nil || n != 1 {
		t.Errorf("%d messages left (%v), want the other account's only", n, err)
	}
}
