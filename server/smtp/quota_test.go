package smtp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/smtp"
)

// TestSMTP_Quota: a full mailbox is a temporary refusal (the owner can
// make room), a message larger than the whole quota a permanent one
// (RFC 3463 X.2.2), and a message that fits is stored and charged.
func TestSMTP_Quota(t *testing.T) {
	e := start(t, nil, nil)
	ctx := viewer.AdminContext(context.Background())
	if _, err := e.db.Client.Account.UpdateOne(e.alice).SetQuotaBytes(3000).Save(ctx); err != nil {
		t.Fatal(err)
	}

	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example> SIZE=5000\r\nRCPT TO:<alice@example.test>\r\n")
	c.expect("250 ")
	c.expect("552 5.2.2 ")

	if r := e.deliver("x@sender.example", "alice@example.test", testMessage("fits")); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("message within quota: %q", r)
	}
	a, err := e.db.Client.Account.Get(ctx, e.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.UsedBytes == 0 || a.UsedBytes > 3000 {
		t.Fatalf("used_bytes %d after one small message", a.UsedBytes)
	}

	// Fill the rest: the next RCPT is refused for now, not for good.
	if _, err := e.db.Client.Account.UpdateOne(e.alice).SetUsedBytes(2999).Save(ctx); err != nil {
		t.Fatal(err)
	}
	c = e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example> SIZE=500\r\nRCPT TO:<alice@example.test>\r\n")
	c.expect("250 ")
	c.expect("452 4.2.2 ")
	if n := len(e.messages(e.alice)); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}

// TestSMTP_MaxRecipients: recipients past the limit are refused one by
// one with 452 (RFC 5321 §4.5.3.1.10), and the message still reaches the
// ones accepted.
func TestSMTP_MaxRecipients(t *testing.T) {
	e := start(t, nil, func(o *smtp.Options) { o.MaxRecipients = 2 })
	bob, carol := e.account("bob"), e.account("carol")
	c := e.dial()
	c.hello()
	c.send("MAIL FROM:<x@sender.example>\r\n")
	c.expect("250 ")
	for i, l := range []string{"alice", "bob", "carol"} {
		c.send(fmt.Sprintf("RCPT TO:<%s@example.test>\r\n", l))
		if i < 2 {
			c.expect("250 ")
		} else {
			c.expect("452 4.5.3 ")
		}
	}
	c.send("DATA\r\n")
	c.expect("354 ")
	c.send(testMessage("two of three") + ".\r\n")
	c.expect("250 ")
	if a, b, c := len(e.messages(e.alice)), len(e.messages(bob)), len(e.messages(carol)); a != 1 || b != 1 || c != 0 {
		t.Fatalf("alice, bob and carol have %d, %d and %d messages; want 1, 1, 0", a, b, c)
	}
}
