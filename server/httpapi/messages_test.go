package httpapi_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// messageFields is every field of a message that reads more than its row.
const messageFields = `id subject
	mailbox { id name } account { id email }
	headers { name value } textBody htmlBody
	attachments { index filename contentType size inline contentId downloadUrl }
	rawUrl authentication { spf dkim dmarc header }`

type messageJSON struct {
	ID, Subject string
	Mailbox     struct{ ID, Name string }
	Account     struct{ ID, Email string }
	Headers     []struct{ Name, Value string }
	TextBody    *string
	HTMLBody    *string
	Attachments []struct {
		Index                 int
		Filename, ContentType string
		Size                  int
		Inline                bool
		ContentID             *string `json:"contentId"`
		DownloadURL           string  `json:"downloadUrl"`
	}
	RawURL         string `json:"rawUrl"`
	Authentication struct{ SPF, DKIM, DMARC, Header string }
}

func TestMessages_Fields(t *testing.T) {
	e, a, _ := messageTenants(t)
	e, blobs := withCountingStore(t, e)
	m := multipart()
	id := seed(t, e, a, a.Inbox, m)

	var out struct{ Node messageJSON }
	mustDo(t, e, a.Token, `query($id: ID!) { node(id: $id) { ... on Message { `+
		messageFields+` } } }`, map[string]any{"id": id}, &out)
	got := out.Node

	if deref(got.TextBody) != "Hello in text." ||
		deref(got.HTMLBody) != "<p>Hello in <b>HTML</b></p>" {
		t.Errorf("textBody %q, htmlBody %q", deref(got.TextBody), deref(got.HTMLBody))
	}
	type header struct{ Name, Value string }
	var headers []header
	for _, h := range got.Headers {
		headers = append(headers, header{h.Name, h.Value})
	}
	wantHeaders := []header{
		{"From", "Alice Example <alice@remote.example>"},
		{"To", "user@a.example"},
		{"Subject", "Quarterly report"},
		{"Message-ID", "<q1@remote.example>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/mixed; boundary="outer"`},
	}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("headers, in order (-want +got):\n%s", diff)
	}
	if n := blobs.gets.Load(); n != 1 {
		t.Errorf("headers and both bodies read the raw message %d times, want 1", n)
	}
	if got.Mailbox.ID != a.Inbox || got.Mailbox.Name != "INBOX" ||
		got.Account.ID != a.Account || got.Account.Email != "user@a.example" {
		t.Errorf("mailbox %+v, account %+v", got.Mailbox, got.Account)
	}
	if got.RawURL != "/messages/"+id+"/raw" {
		t.Errorf("rawUrl = %q", got.RawURL)
	}
	wantAuth := struct{ SPF, DKIM, DMARC, Header string }{"pass", "pass", "pass", m.Auth}
	if got.Authentication != wantAuth {
		t.Errorf("authentication = %+v, want %+v", got.Authentication, wantAuth)
	}

	type att struct {
		Index         int
		Name, Type    string
		Size          int
		Inline        bool
		CID, Download string
	}
	var atts []att
	for _, x := range got.Attachments {
		atts = append(atts, att{x.Index, x.Filename, x.ContentType, x.Size, x.Inline,
			deref(x.ContentID), x.DownloadURL})
	}
	base := "/messages/" + id + "/attachments/"
	want := []att{
		{0, "../../.evil.html", "text/html", 25, false, "", base + "0"},
		{1, "logo.png", "image/png", 8, true, "logo@remote.example", base + "1"},
		{2, "résumé.txt", "text/plain", 10, false, "", base + "2"},
	}
	if diff := cmp.Diff(want, atts); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
}

func TestMessages_ListDoesNotLoadBlobs(t *testing.T) {
	e, a, _ := messageTenants(t)
	e, blobs := withCountingStore(t, e)
	for range 3 {
		seed(t, e, a, a.Inbox, multipart())
	}
	var out struct {
		Messages struct{ Edges []struct{ Node messageJSON } }
	}
	// Everything but headers and bodies, attachments included.
	mustDo(t, e, a.Token, `{ messages(first: 10) { edges { node {
		id subject mailbox { name } account { email } rawUrl
		attachments { index filename downloadUrl } authentication { spf header }
	} } } }`, nil, &out)
	if len(out.Messages.Edges) != 4 {
		t.Fatalf("%d messages, want 4", len(out.Messages.Edges))
	}
	if n := blobs.gets.Load(); n != 0 {
		t.Errorf("a list read %d raw messages, want none", n)
	}
	// Positive control: the counter does count.
	mustDo(t, e, a.Token, `{ messages(where: {subject: "Quarterly report"}) {
		edges { node { textBody } } } }`, nil, nil)
	if n := blobs.gets.Load(); n != 3 {
		t.Errorf("textBody of 3 messages read %d raw messages, want 3", n)
	}
}

func TestMessages_Filters(t *testing.T) {
	e, a, _ := messageTenants(t)
	archive := mailboxNamed(t, e, a, "Archive")
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }

	// A second account of a's, with a message of its own.
	var acc struct {
		CreateAccount struct {
			Account struct {
				ID        string
				Mailboxes []struct{ ID, Name string }
			}
		}
	}
	mustDo(t, e, a.Token, `mutation($in: CreateAccountInput!) {
		createAccount(input: $in) { account { id mailboxes { id name } } }
	}`, map[string]any{"in": map[string]any{"localPart": "other", "domainID": a.Domain}}, &acc)
	other := *a
	other.Account = acc.CreateAccount.Account.ID
	for _, mb := range acc.CreateAccount.Account.Mailboxes {
		if mb.Name == "INBOX" {
			other.Inbox = mb.ID
		}
	}

	unreadInvoice := simple("Invoice 42", "billing@shop.example")
	unreadInvoice.Date = day(1)
	readNews := simple("Weekly news", "news@paper.example")
	readNews.Seen, readNews.Date = true, day(10)
	archived := simple("Old invoice", "billing@shop.example")
	archived.Seen, archived.Date = true, day(20)
	otherMail := simple("For the other account", "friend@remote.example")
	otherMail.Date = day(25)

	invoice := seed(t, e, a, a.Inbox, unreadInvoice)
	news := seed(t, e, a, a.Inbox, readNews)
	old := seed(t, e, a, archive, archived)
	theirs := seed(t, e, &other, other.Inbox, otherMail)

	tests := []struct {
		name  string
		where map[string]any
		want  []string
	}{
		{"account", map[string]any{"accountID": other.Account}, []string{theirs}},
		{"mailbox", map[string]any{"mailboxID": archive}, []string{old}},
		{"mailbox by name", map[string]any{"accountID": a.Account,
			"hasMailboxWith": []any{map[string]any{"name": "INBOX"}}},
			[]string{a.Message, invoice, news}},
		{"unread", map[string]any{"seen": false, "accountID": a.Account},
			[]string{a.Message, invoice}},
		{"sender contains", map[string]any{"fromAddressContains": "@shop."},
			[]string{invoice, old}},
		{"subject contains", map[string]any{"subjectContains": "invoice"},
			[]string{invoice, old}}, // SQLite's LIKE ignores ASCII case
		{"subject contains, any case", map[string]any{"subjectContainsFold": "INVOICE"},
			[]string{invoice, old}},
		{"date range", map[string]any{
			"internalDateGT": day(5).Format(time.RFC3339),
			"internalDateLT": day(22).Format(time.RFC3339)}, []string{news, old}},
		{"combined", map[string]any{"seen": false, "fromAddressContains": "billing",
			"mailboxID": a.Inbox}, []string{invoice}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, a.Token, `query($w: MessageWhereInput) {
				messages(first: 100, where: $w) { totalCount edges { node { id } } }
			}`, map[string]any{"w": tc.where})
			wantOK(t, r)
			n, got := connIDs(t, r.Data, "messages")
			if diff := cmp.Diff(sorted(tc.want...), got); diff != "" || n != len(tc.want) {
				t.Errorf("totalCount %d; ids (-want +got):\n%s", n, diff)
			}
		})
	}

	t.Run("Mailbox.messages", func(t *testing.T) {
		var out struct {
			Node struct {
				Messages struct {
					TotalCount int
					Edges      []struct{ Node struct{ ID string } }
				}
			}
		}
		mustDo(t, e, a.Token, `query($id: ID!) { node(id: $id) { ... on Mailbox {
			messages(where: {seen: true}) { totalCount edges { node { id } } } } } }`,
			map[string]any{"id": a.Inbox}, &out)
		if c := out.Node.Messages; c.TotalCount != 1 || len(c.Edges) != 1 ||
			c.Edges[0].Node.ID != news {
			t.Errorf("INBOX's read messages: %+v, want only %s", c, news)
		}
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
