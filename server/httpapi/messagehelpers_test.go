package httpapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/httpapi"
	"github.com/lightr-mail/lightr/server/servertest"
)

// countingBlobs is the database blob store, counting reads.
type countingBlobs struct {
	store.DBStore
	gets atomic.Int64
}

// Get implements store.BlobStore.
func (b *countingBlobs) Get(ctx context.Context, c *ent.Client, key string) ([]byte, error) {
	b.gets.Add(1)
	return b.DBStore.Get(ctx, c, key)
}

// withCountingStore returns a copy of e whose HTTP server (a second one,
// over the same database) reads raw messages through the returned
// counter.
func withCountingStore(t testing.TB, e *servertest.Env) (*servertest.Env, *countingBlobs) {
	t.Helper()
	blobs := &countingBlobs{}
	cfg := e.App.Config
	h := httpapi.Handler(httpapi.Options{
		Client: e.App.DB.Client, Auth: e.App.Auth, Ready: e.App.DB.Ping,
		Log:      slog.New(slog.DiscardHandler),
		GraphiQL: cfg.HTTP.GraphiQL, Introspection: cfg.HTTP.Introspection,
		MaxDepth: cfg.HTTP.MaxDepth, MaxComplexity: cfg.HTTP.MaxComplexity,
		MaxPageSize: cfg.HTTP.MaxPageSize, PageSize: cfg.HTTP.DefaultPageSize,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Store:        &store.Store{Blobs: blobs},
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	out := *e
	out.Server, out.URL = srv, srv.URL+"/graphql"
	return &out, blobs
}

// mail is a message to seed: its raw bytes and what delivery would have
// recorded about them.
type mail struct {
	Raw         string
	Subject     string
	From        string
	Seen        bool
	Date        time.Time
	Attachments []message.Attachment
	SPF, DKIM   string
	DMARC, Auth string
}

// seed stores m in mailbox mbx of tn's account as delivery does: the raw
// bytes in the blob store, the next UID of the mailbox, the account's used
// bytes. It returns the message's id.
func seed(t testing.TB, e *servertest.Env, tn *tenant, mbx string, m mail) string {
	t.Helper()
	c, ctx := e.App.DB.Client, e.Admin()
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	b, err := store.New().Save(ctx, c, pulid.ID(tn.Org), []byte(m.Raw))
	if err != nil {
		t.Fatalf("store raw message: %v", err)
	}
	box, err := c.Mailbox.UpdateOneID(pulid.ID(mbx)).AddUIDNext(1).Save(ctx)
	if err != nil {
		t.Fatalf("allocate UID: %v", err)
	}
	atts, err := message.EncodeAttachments(m.Attachments)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.Message.Create().
		SetAccountID(pulid.ID(tn.Account)).
		SetMailboxID(box.ID).
		SetBlobID(b.ID).
		SetUID(box.UIDNext - 1).
		SetInternalDate(m.Date).
		SetSize(int64(len(m.Raw))).
		SetSubject(m.Subject).
		SetFromAddress(m.From).
		SetSeen(m.Seen).
		SetHasAttachments(len(m.Attachments) > 0).
		SetAttachments(atts).
		SetSpfResult(m.SPF).
		SetDkimResult(m.DKIM).
		SetDmarcResult(m.DMARC).
		SetAuthResults(m.Auth).
		Save(ctx)
	if err != nil {
		t.Fatalf("insert message: %v", err)
	}
	err = c.Account.UpdateOneID(pulid.ID(tn.Account)).AddUsedBytes(int64(len(m.Raw))).Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg.ID)
}

// simple returns a one-part message with the given subject and sender.
func simple(subject, from string) mail {
	return mail{
		Raw: "From: " + from + "\r\nSubject: " + subject +
			"\r\nContent-Type: text/plain\r\n\r\nbody of " + subject + "\r\n",
		Subject: subject, From: from,
	}
}

// multipartRaw is a message with a text and an HTML body and three
// attachments: an HTML page with a hostile name, an inline image and a
// text file with a non-ASCII name.
const multipartRaw = "From: Alice Example <alice@remote.example>\r\n" +
	"To: user@a.example\r\n" +
	"Subject: Quarterly report\r\n" +
	"Message-ID: <q1@remote.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello in text.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>Hello in <b>HTML</b></p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Disposition: attachment; filename=\"../../.evil.html\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\r\n" +
	"--outer\r\n" +
	"Content-Type: image/png\r\n" +
	"Content-Disposition: inline; filename=\"logo.png\"\r\n" +
	"Content-ID: <logo@remote.example>\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"iVBORw0KGgo=\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt\r\n" +
	"\r\n" +
	"plain file\r\n" +
	"--outer--\r\n"

// multipart is multipartRaw with what delivery records about it: the
// attachments as the message package lists them.
func multipart() mail {
	return mail{
		Raw: multipartRaw, Subject: "Quarterly report", From: "alice@remote.example",
		Attachments: message.Parse([]byte(multipartRaw), message.Limits{}).Attachments,
		SPF:         "pass", DKIM: "pass", DMARC: "pass",
		Auth: "mx.a.example; spf=pass smtp.mailfrom=remote.example; dkim=pass; dmarc=pass",
	}
}

// messageState is what the mutations change, read from the database.
type messageState struct {
	Mailbox                 string
	UID                     uint32
	Modseq                  int64
	Seen, Flagged, Answered bool
}

func stateOf(t testing.TB, e *servertest.Env, id string) messageState {
	t.Helper()
	m, err := e.App.DB.Client.Message.Get(e.Admin(), pulid.ID(id))
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return messageState{string(m.MailboxID), m.UID, m.Modseq, m.Seen, m.Flagged, m.Answered}
}

// mailboxOf returns the stored mailbox id.
func mailboxOf(t testing.TB, e *servertest.Env, id string) *ent.Mailbox {
	t.Helper()
	m, err := e.App.DB.Client.Mailbox.Get(e.Admin(), pulid.ID(id))
	if err != nil {
		t.Fatalf("read mailbox %s: %v", id, err)
	}
	return m
}

// usedBytes returns the used bytes of account id.
func usedBytes(t testing.TB, e *servertest.Env, id string) int64 {
	t.Helper()
	a, err := e.App.DB.Client.Account.Get(e.Admin(), pulid.ID(id))
	if err != nil {
		t.Fatalf("read account %s: %v", id, err)
	}
	return a.UsedBytes
}

// mailboxNamed returns the id of tn's mailbox called name.
func mailboxNamed(t testing.TB, e *servertest.Env, tn *tenant, name string) string {
	t.Helper()
	for _, id := range tn.Mailboxes {
		if mailboxOf(t, e, id).Name == name {
			return id
		}
	}
	t.Fatalf("%s has no mailbox %s", tn.Name, name)
	return ""
}

// messageTenants is twoTenants with the inbox's UIDNEXT moved past the
// message newTenant inserts (insertMessage does not advance it), so that
// seed can deliver more.
func messageTenants(t testing.TB) (*servertest.Env, *tenant, *tenant) {
	t.Helper()
	e, a, b := twoTenants(t)
	for _, tn := range []*tenant{a, b} {
		err := e.App.DB.Client.Mailbox.UpdateOneID(pulid.ID(tn.Inbox)).SetUIDNext(2).Exec(e.Admin())
		if err != nil {
			t.Fatal(err)
		}
	}
	return e, a, b
}
