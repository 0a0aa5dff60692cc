package queue_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is a fresh database with one organization and domain. Messages
// are queued at the real time; t0, taken after the setup, is the clock
// from which the tests derive every instant they pass in.
type fixture struct {
	c     *ent.Client
	admin context.Context
	org   pulid.ID
	dom   pulid.ID
	blob  pulid.ID
	t0    time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{admin: viewer.AdminContext(context.Background())}
	d, err := db.Open(f.admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	check(t, err)
	t.Cleanup(func() { _ = d.Close() })
	f.c = d.Client

	o, err := f.c.Organization.Create().SetName("a.example").Save(f.admin)
	check(t, err)
	dom, err := directory.CreateDomain(f.admin, f.c, &o.ID, ent.CreateDomainInput{Name: "a.example"})
	check(t, err)
	b, err := f.c.Blob.Create().SetOrganizationID(o.ID).SetSha256("00").SetSize(1).
		SetKey("test/00").Save(f.admin)
	check(t, err)
	f.org, f.dom, f.blob = o.ID, dom.ID, b.ID
	f.t0 = time.Now().UTC()
	return f
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queue stores n messages, each to rcpts (addresses), in one transaction,
// and returns their ids.
func (f *fixture) queue(t testing.TB, n int, rcpts ...string) []pulid.ID {
	t.Helper()
	tx, err := f.c.Tx(f.admin)
	check(t, err)
	c := tx.Client()
	var ids []pulid.ID
	for range n {
		m, err := c.OutboundMessage.Create().SetOrganizationID(f.org).SetDomainID(f.dom).
			SetBlobID(f.blob).SetMailFrom("sender@a.example").
			SetSource(outboundmessage.SourceAPI).Save(f.admin)
		check(t, err)
		bulk := make([]*ent.OutboundRecipientCreate, len(rcpts))
		for i, r := range rcpts {
			bulk[i] = c.OutboundRecipient.Create().SetOrganizationID(f.org).
				SetOutboundMessageID(m.ID).SetAddress(r).SetDomain(domainOf(r))
		}
		check(t, c.OutboundRecipient.CreateBulk(bulk...).Exec(f.admin))
		ids = append(ids, m.ID)
	}
	check(t, tx.Commit())
	return ids
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return addr
}

// claim claims with a one-hour lease and fails the test on error.
func (f *fixture) claim(t testing.TB, owner string, now time.Time, limit, perDomain int) []queue.Unit {
	t.Helper()
	units, err := queue.Claim(context.Background(), f.c, owner, now, time.Hour, limit, perDomain)
	check(t, err)
	return units
}

// recipient reloads a recipient.
func (f *fixture) recipient(t testing.TB, id pulid.ID) *ent.OutboundRecipient {
	t.Helper()
	r, err := f.c.OutboundRecipient.Get(f.admin, id)
	check(t, err)
	return r
}

// results returns one result of status st per recipient of u.
func results(u *queue.Unit, st outbound.Status) []outbound.RecipientResult {
	var rs []outbound.RecipientResult
	for _, r := range u.Recipients {
		res := outbound.RecipientResult{Address: r.Address, Status: st, RemoteMX: "mx." + u.Domain}
		switch st {
		case outbound.StatusDelivered:
			res.Code, res.EnhancedCode, res.Response = 250, "2.0.0", "ok"
		case outbound.StatusDeferred:
			res.Code, res.EnhancedCode, res.Response = 451, "4.3.0", "try later"
		case outbound.StatusBounced:
			res.Code, res.EnhancedCode, res.Response = 550, "5.1.1", "no such user"
		}
		rs = append(rs, res)
	}
	return rs
}

// half is a Rand that gives no jitter.
func half() float64 { return 0.5 }

func key(u queue.Unit) string { return fmt.Sprintf("%s/%s", u.MessageID, u.Domain) }
