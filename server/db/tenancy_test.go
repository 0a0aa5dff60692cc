package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is one organization's rows of every tenant-owned type.
type fixture struct {
	org                                    pulid.ID
	domain, account, mailbox, blob         pulid.ID
	message, alias, outbound, recipient    pulid.ID
	attempt, event, webhook, whDelivery    pulid.ID
	template, apiKey, dkimKey, suppression pulid.ID
}

// seed creates an organization with one row of every tenant-owned type.
func seed(t *testing.T, c *ent.Client, name string) fixture {
	t.Helper()
	ctx := viewer.AdminContext(context.Background())
	var f fixture
	f.org = must(c.Organization.Create().SetName(name).Save(ctx)).ID
	f.domain = must(c.Domain.Create().SetName(name + ".test").SetOrganizationID(f.org).Save(ctx)).ID
	f.account = must(c.Account.Create().SetDomainID(f.domain).SetLocalPart("a").
		SetEmail("a@" + name + ".test").Save(ctx)).ID
	f.mailbox = must(c.Mailbox.Create().SetAccountID(f.account).SetName("INBOX").
		SetUIDValidity(1).Save(ctx)).ID
	f.blob = must(c.Blob.Create().SetOrganizationID(f.org).SetSha256("h-" + name).SetSize(3).
		SetKey("k-" + name).Save(ctx)).ID
	f.message = must(c.Message.Create().SetAccountID(f.account).SetMailboxID(f.mailbox).
		SetBlobID(f.blob).SetUID(1).SetInternalDate(time.Now()).SetSize(3).Save(ctx)).ID
	f.alias = must(c.MailAlias.Create().SetDomainID(f.domain).SetLocalPart("x").
		SetEmail("x@" + name + ".test").SetDestinations([]string{"a@" + name + ".test"}).Save(ctx)).ID
	f.outbound = must(c.OutboundMessage.Create().SetDomainID(f.domain).SetBlobID(f.blob).
		SetMailFrom("a@" + name + ".test").SetSource("api").Save(ctx)).ID
	f.recipient = must(c.OutboundRecipient.Create().SetOutboundMessageID(f.outbound).
		SetAddress("r@remote.test").SetDomain("remote.test").Save(ctx)).ID
	f.attempt = must(c.DeliveryAttempt.Create().SetRecipientID(f.recipient).
		SetResult("deferred").Save(ctx)).ID
	f.event = must(c.Event.Create().SetOrganizationID(f.org).SetType("message.received").Save(ctx)).ID
	f.webhook = must(c.Webhook.Create().SetOrganizationID(f.org).SetURL("http://127.0.0.1/").
		SetSecret("whsec_x").Save(ctx)).ID
	f.whDelivery = must(c.WebhookDelivery.Create().SetWebhookID(f.webhook).SetEventID(f.event).Save(ctx)).ID
	f.template = must(c.Template.Create().SetOrganizationID(f.org).SetName("t").Save(ctx)).ID
	f.apiKey = must(c.APIKey.Create().SetOrganizationID(f.org).SetName("k").SetPrefix("lr_x").
		SetSecretHash("hash-" + name).Save(ctx)).ID
	f.dkimKey = must(c.DKIMKey.Create().SetDomainID(f.domain).SetSelector("s").SetAlgorithm("rsa").
		SetPrivateKey([]byte("x")).SetPublicKey("p").Save(ctx)).ID
	f.suppression = must(c.Suppression.Create().SetOrganizationID(f.org).SetAddress("s@remote.test").
		SetReason("manual").Save(ctx)).ID
	return f
}

func (f fixture) rows() map[string]pulid.ID {
	return map[string]pulid.ID{
		"Organization": f.org, "Domain": f.domain, "Account": f.account, "Mailbox": f.mailbox,
		"Blob": f.blob, "Message": f.message, "MailAlias": f.alias, "OutboundMessage": f.outbound,
		"OutboundRecipient": f.recipient, "DeliveryAttempt": f.attempt, "Event": f.event,
		"Webhook": f.webhook, "WebhookDelivery": f.whDelivery, "Template": f.template,
		"APIKey": f.apiKey, "DKIMKey": f.dkimKey, "Suppression": f.suppression,
	}
}

func orgViewer(org pulid.ID) context.Context {
	return viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindOrg, OrgID: org, Scopes: viewer.TenantScopes, Subject: "test",
	})
}

// TestTenancy_NoCrossTenantAccess checks, for every tenant-owned type, that
// a viewer of organization B neither reads, updates nor deletes organization
// A's row, while A's own viewer does read it.
func TestTenancy_NoCrossTenantAccess(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	b := seed(t, d.Client, "beta")
	asA, asB := orgViewer(a.org), orgViewer(b.org)

	for typ, id := range a.rows() {
		t.Run(typ, func(t *testing.T) {
			// A sees its row: the control that makes the rest meaningful.
			if !contains(listIDs(t, d.Client, asA, typ), id) {
				t.Fatalf("A cannot list its own %s", typ)
			}
			if n, err := d.Noder(asB, id, ent.WithNodeType(ent.IDToType)); err == nil {
				t.Fatalf("B read A's %s: %+v", typ, n)
			}
			if ids := listIDs(t, d.Client, asB, typ); contains(ids, id) {
				t.Fatalf("B's list of %s includes A's row", typ)
			}
			if err := deleteByID(asB, d.Client, typ, id); err == nil {
				t.Fatalf("B deleted A's %s", typ)
			}
			if !contains(listIDs(t, d.Client, asA, typ), id) {
				t.Fatalf("A's %s is gone after B's delete", typ)
			}
		})
	}
}

// TestTenancy_NoViewerNoAccess checks that the data layer fails closed.
func TestTenancy_NoViewerNoAccess(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	for typ, id := range a.rows() {
		if _, err := d.Noder(context.Background(), id, ent.WithNodeType(ent.IDToType)); err == nil {
			t.Errorf("%s readable without a viewer", typ)
		}
	}
	if _, err := d.Domain.Query().All(context.Background()); !errors.Is(err, privacy.Deny) {
		t.Errorf("domains listed without a viewer: %v", err)
	}
	if _, err := d.Organization.Create().SetName("x").Save(context.Background()); err == nil {
		t.Error("created an organization without a viewer")
	}
}

// TestTenancy_NoCrossTenantLinks checks that B cannot create rows that
// point at A's rows, nor create rows in A's organization.
func TestTenancy_NoCrossTenantLinks(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	b := seed(t, d.Client, "beta")
	asB := orgViewer(b.org)
	c := d.Client
	cases := map[string]func() error{
		"account in A's domain": func() error {
			return c.Account.Create().SetDomainID(a.domain).SetLocalPart("z").SetEmail("z@x.test").Exec(asB)
		},
		"mailbox on A's account": func() error {
			return c.Mailbox.Create().SetAccountID(a.account).SetName("X").SetUIDValidity(1).Exec(asB)
		},
		"message in A's mailbox": func() error {
			return c.Message.Create().SetAccountID(b.account).SetMailboxID(a.mailbox).SetBlobID(b.blob).
				SetUID(9).SetInternalDate(time.Now()).SetSize(1).Exec(asB)
		},
		"message pointing at A's blob": func() error {
			return c.Message.Create().SetAccountID(b.account).SetMailboxID(b.mailbox).SetBlobID(a.blob).
				SetUID(9).SetInternalDate(time.Now()).SetSize(1).Exec(asB)
		},
		"alias in A's domain": func() error {
			return c.MailAlias.Create().SetDomainID(a.domain).SetLocalPart("q").SetEmail("q@x.test").
				SetDestinations([]string{"q@x.test"}).Exec(asB)
		},
		"domain in A's organization": func() error {
			return c.Domain.Create().SetName("new.test").SetOrganizationID(a.org).Exec(asB)
		},
		"API key in A's organization": func() error {
			return c.APIKey.Create().SetOrganizationID(a.org).SetName("k").SetPrefix("p").
				SetSecretHash("zz").Exec(asB)
		},
		"admin API key": func() error {
			return c.APIKey.Create().SetName("k").SetPrefix("p").SetSecretHash("zz").SetAdmin(true).Exec(asB)
		},
		"DKIM key for A's domain": func() error {
			return c.DKIMKey.Create().SetDomainID(a.domain).SetSelector("x").SetAlgorithm("rsa").
				SetPrivateKey([]byte("x")).SetPublicKey("p").Exec(asB)
		},
		"recipient of A's outbound message": func() error {
			return c.OutboundRecipient.Create().SetOutboundMessageID(a.outbound).
				SetAddress("r@r.test").SetDomain("r.test").Exec(asB)
		},
		"delivery of A's webhook": func() error {
			return c.WebhookDelivery.Create().SetWebhookID(a.webhook).SetEventID(b.event).Exec(asB)
		},
		"move B's message into A's mailbox": func() error {
			return c.Message.UpdateOneID(b.message).SetMailboxID(a.mailbox).Exec(asB)
		},
		"attach A's account to B's domain": func() error {
			return c.Domain.UpdateOneID(b.domain).AddAccountIDs(a.account).Exec(asB)
		},
	}
	for name, try := range cases {
		t.Run(name, func(t *testing.T) {
			if err := try(); err == nil {
				t.Fatal("allowed")
			}
		})
	}
	// The admin cannot link across organizations either.
	admin := viewer.AdminContext(context.Background())
	err := c.Account.Create().SetDomainID(a.domain).SetOrganizationID(b.org).SetLocalPart("w").
		SetEmail("w@x.test").Exec(admin)
	if !errors.Is(err, privacy.Deny) {
		t.Errorf("admin created an account of B in A's domain: %v", err)
	}
}

// TestTenancy_CreateTakesViewerOrg checks that a tenant's creates land in
// its own organization without naming it.
func TestTenancy_CreateTakesViewerOrg(t *testing.T) {
	d := openTest(t)
	b := seed(t, d.Client, "beta")
	tpl, err := d.Template.Create().SetName("welcome").Save(orgViewer(b.org))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.OrganizationID != b.org {
		t.Fatalf("template in %s, want %s", tpl.OrganizationID, b.org)
	}
}

// TestTenancy_EventsAppendOnly checks that nobody but the system rewrites
// the event log.
func TestTenancy_EventsAppendOnly(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	for name, ctx := range map[string]context.Context{
		"tenant": orgViewer(a.org), "admin": viewer.AdminContext(context.Background()),
	} {
		if err := d.Event.UpdateOneID(a.event).Exec(ctx); err == nil {
			t.Errorf("%s updated an event", name)
		}
		if err := d.Event.DeleteOneID(a.event).Exec(ctx); err == nil {
			t.Errorf("%s deleted an event", name)
		}
	}
}

// TestTenancy_AccountViewer checks that a mailbox user reads only its own
// mailboxes and messages, and cannot change its account settings.
func TestTenancy_AccountViewer(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	admin := viewer.AdminContext(context.Background())
	other, err := d.Account.Create().SetDomainID(a.domain).SetLocalPart("b").
		SetEmail("b@alpha.test").Save(admin)
	if err != nil {
		t.Fatal(err)
	}
	otherBox, err := d.Mailbox.Create().SetAccountID(other.ID).SetName("INBOX").
		SetUIDValidity(1).Save(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindAccount, OrgID: a.org, AccountID: a.account,
	})
	boxes, err := d.Mailbox.Query().IDs(ctx)
	if err != nil || len(boxes) != 1 || boxes[0] != a.mailbox {
		t.Fatalf("mailboxes %v, %v; want only %s", boxes, err, a.mailbox)
	}
	if _, err := d.Mailbox.Get(ctx, otherBox.ID); err == nil {
		t.Error("read another account's mailbox")
	}
	if _, err := d.Domain.Query().All(ctx); err == nil {
		t.Error("account viewer listed domains")
	}
	if err := d.Account.UpdateOneID(a.account).SetQuotaBytes(1 << 40).Exec(ctx); err == nil {
		t.Error("account viewer changed its own quota")
	}
	if err := d.Message.UpdateOneID(a.message).SetSeen(true).Exec(ctx); err != nil {
		t.Errorf("account viewer could not flag its own message: %v", err)
	}
}

// TestOpen_RegistersPolicies guards the ent/runtime import that installs
// the privacy policies: without it every rule above would silently vanish.
func TestOpen_RegistersPolicies(t *testing.T) {
	d := openTest(t)
	_, err := d.Organization.Query().All(context.Background())
	if !errors.Is(err, privacy.Deny) {
		t.Fatalf("query without viewer: %v, want a privacy denial", err)
	}
}

func contains(ids []pulid.ID, id pulid.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

var _ = db.SchemaVersion

// must returns v, panicking (which fails the test) on a seeding error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestTenancy_BulkWritesStayInOrg checks that an update or delete without
// any predicate touches only the viewer's own rows.
func TestTenancy_BulkWritesStayInOrg(t *testing.T) {
	d := openTest(t)
	a := seed(t, d.Client, "alpha")
	b := seed(t, d.Client, "beta")
	n, err := d.Domain.Update().SetTrackOpens(true).Save(orgViewer(b.org))
	if err != nil || n != 1 {
		t.Fatalf("bulk update: %d rows, %v; want 1", n, err)
	}
	admin := viewer.AdminContext(context.Background())
	if dom := must(d.Domain.Get(admin, a.domain)); dom.TrackOpens {
		t.Fatal("B's bulk update changed A's domain")
	}
	if _, err := d.Template.Delete().Exec(orgViewer(b.org)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Template.Get(admin, a.template); err != nil {
		t.Fatalf("B's bulk delete removed A's template: %v", err)
	}
}
