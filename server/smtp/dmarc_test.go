package smtp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
	"github.com/lightr-mail/lightr/mail/verify"
)

// TestSMTP_DMARCRejectPolicy: mail failing DMARC under p=reject goes to
// Junk by default, and is refused with 550 5.7.1 when the recipient
// domain asks for that (RFC 7489 §6.6.2: the receiver decides).
func TestSMTP_DMARCRejectPolicy(t *testing.T) {
	dns := resolvertest.Start(t)
	dns.AddTXT("_dmarc.sender.example.", 300, "v=DMARC1; p=reject")
	dns.AddTXT("sender.example.", 300, "v=spf1 ip4:192.0.2.1 -all")
	res, err := resolver.New(resolver.Options{Server: dns.Addr})
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, &verify.Verifier{Resolver: res, AuthServID: "mx.example.test"}, nil)

	// From 127.0.0.1, which sender.example's SPF does not allow, unsigned.
	spoofed := testMessage("spoofed")
	if r := e.deliver("bob@sender.example", "alice@example.test", spoofed); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("junk policy: %q", r)
	}
	ms := e.messages(e.alice)
	if len(ms) != 1 || ms[0].Edges.Mailbox.Name != "Junk" || ms[0].DmarcResult != "fail" {
		t.Fatalf("want one message in Junk with dmarc=fail, got %d", len(ms))
	}

	ctx := viewer.AdminContext(context.Background())
	if err := e.db.Client.Domain.UpdateOneID(e.domain.ID).
		SetDmarcRejectAction(domain.DmarcRejectActionReject).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.deliver("bob@sender.example", "alice@example.test", spoofed); !strings.HasPrefix(r, "550 5.7.1 ") {
		t.Fatalf("reject policy: %q, want 550 5.7.1", r)
	}
	if n := len(e.messages(e.alice)); n != 1 {
		t.Fatalf("%d messages stored after the refusal, want 1", n)
	}
}
