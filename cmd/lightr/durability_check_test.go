package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, to read the database directly
)

// storedTally counts what checkDatabase found.
type storedTally struct {
	messages int // distinct messages stored
	copies   int // message rows (one per recipient)
	inDoubt  int // in-doubt messages that were stored
}

// checkDatabase opens the stopped server's database read-only and checks
// it against the clients' ledger: an intact file; every acknowledged
// message in each of its recipients' INBOX exactly once; nothing stored
// that was not sent, refused, or sent only to another account; in-doubt
// messages stored for all their recipients or for none; and each
// account's UIDs, MODSEQs, quota and events consistent.
func checkDatabase(t *testing.T, path string, rcpts []string, ledger []*sentMsg) storedTally {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	checkIntegrity(t, db)

	byID := make(map[string]*sentMsg, len(ledger))
	for _, m := range ledger {
		if byID[m.id] != nil {
			t.Fatalf("the test sent Message-ID %s twice", m.id)
		}
		byID[m.id] = m
	}
	var st storedTally
	found := make(map[string]int) // Message-ID → accounts holding it
	for _, email := range rcpts {
		for id, n := range checkAccount(t, db, email) {
			m := byID[id]
			switch {
			case m == nil || !slices.Contains(m.rcpts, email):
				t.Errorf("%s holds %s, which was never sent to it", email, id)
			case n > 1:
				t.Errorf("%s holds %s %d times", email, id, n)
			}
			found[id]++
			st.copies += n
		}
	}
	st.messages = len(found)

	for _, m := range ledger {
		k := found[m.id]
		switch {
		case m.state == acked && k != len(m.rcpts):
			t.Errorf("acknowledged %s is in %d of its %d recipients' mailboxes",
				m.id, k, len(m.rcpts))
		case m.state == inDoubt && k != 0 && k != len(m.rcpts):
			t.Errorf("in-doubt %s is in %d of its %d recipients' mailboxes: a partial commit",
				m.id, k, len(m.rcpts))
		case (m.state == notSent || m.state == rejected) && k != 0:
			t.Errorf("%s was %v (%q) but is stored", m.id, m.state, m.reply)
		}
		if m.state == inDoubt && k > 0 {
			st.inDoubt++
		}
		if m.state == rejected {
			t.Errorf("%s was refused after its data: %s", m.id, m.reply)
		}
	}
	return st
}

// checkIntegrity fails the test unless SQLite finds the file intact and
// every foreign key satisfied.
func checkIntegrity(t *testing.T, db *sql.DB) {
	t.Helper()
	if res := integrityCheck(t, db); !slices.Equal(res, []string{"ok"}) {
		t.Fatalf("integrity_check: %q", res)
	}

	var violations int
	err := db.QueryRow("SELECT COUNT(*) FROM pragma_foreign_key_check").Scan(&violations)
	if err != nil {
		t.Fatal(err)
	}
	if violations != 0 {
		t.Errorf("foreign_key_check: %d violations", violations)
	}
}

// integrityCheck returns the lines of SQLite's PRAGMA integrity_check:
// just "ok" for an intact file.
func integrityCheck(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}

// checkAccount checks the messages of the account email: all in its
// INBOX, UIDs and MODSEQs strictly increasing and below the mailbox's
// uid_next and at most its highest_modseq, one message.received event
// each, used_bytes equal to the sum of their sizes. It returns how many
// rows hold each Message-ID.
func checkAccount(t *testing.T, db *sql.DB, email string) map[string]int {
	t.Helper()
	var acc, inbox string
	var used, uidNext, highest int64
	err := db.QueryRow(`SELECT a.id, a.used_bytes, m.id, m.uid_next, m.highest_modseq
		FROM accounts a JOIN mailboxes m ON m.account_id = a.id AND m.name = 'INBOX'
		WHERE a.email = ?`, email).Scan(&acc, &used, &inbox, &uidNext, &highest)
	if err != nil {
		t.Fatalf("account %s and its INBOX: %v", email, err)
	}
	events := receivedEvents(t, db, acc)
	rows, err := db.Query(`SELECT id, mailbox_id, uid, modseq, size, message_id_header, subject
		FROM messages WHERE account_id = ? ORDER BY uid, modseq`, acc)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	got := map[string]int{}
	var sum, lastUID, lastModseq int64
	for rows.Next() {
		var row, mbox, id, subject string
		var uid, modseq, size int64
		if err := rows.Scan(&row, &mbox, &uid, &modseq, &size, &id, &subject); err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("%s UID %d (%s)", email, uid, id)
		switch {
		case mbox != inbox:
			t.Errorf("%s is not in the INBOX", where)
		case uid <= lastUID:
			t.Errorf("%s: UID not above the previous one, %d", where, lastUID)
		case uid >= uidNext:
			t.Errorf("%s: UID not below uid_next %d", where, uidNext)
		case modseq <= lastModseq || modseq > highest:
			t.Errorf("%s: MODSEQ %d after %d, highest_modseq %d",
				where, modseq, lastModseq, highest)
		case events[row] != 1:
			t.Errorf("%s has %d message.received events", where, events[row])
		case subject != "durability "+id:
			t.Errorf("%s has subject %q", where, subject)
		}
		delete(events, row)
		lastUID, lastModseq = uid, modseq
		sum += size
		got[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if used != sum {
		t.Errorf("%s: used_bytes %d, its messages' sizes add up to %d", email, used, sum)
	}
	if len(events) != 0 {
		t.Errorf("%s: message.received events for %d messages that are not stored",
			email, len(events))
	}
	return got
}

// receivedEvents returns how many message.received events the account
// has for each message row id. (A join per message would scan the
// events: message_id has no index.)
func receivedEvents(t *testing.T, db *sql.DB, acc string) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT message_id, COUNT(*) FROM events
		WHERE account_id = ? AND type = 'message.received' GROUP BY message_id`, acc)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var id string
		var k int
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		n[id] = k
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// apiCheck asks the GraphQL API, with a tenant token, how many messages
// it holds, and looks up a few acknowledged ones by Message-ID: each must
// be in the INBOX of every recipient, with its whole body. It returns the
// count.
func apiCheck(t *testing.T, addr, token string, ledger []*sentMsg) int {
	t.Helper()
	var total struct {
		Data struct {
			Messages struct{ TotalCount int }
		}
	}
	graphQL(t, addr, token, `{ messages(first: 1) { totalCount } }`, &total)

	var ackd []*sentMsg
	for _, m := range ledger {
		if m.state == acked {
			ackd = append(ackd, m)
		}
	}
	for _, i := range []int{0, len(ackd) / 2, len(ackd) - 1} {
		if i >= 0 && i < len(ackd) {
			apiLookup(t, addr, token, ackd[i])
		}
	}
	return total.Data.Messages.TotalCount
}

// apiLookup checks that the API finds m once in each recipient's INBOX.
func apiLookup(t *testing.T, addr, token string, m *sentMsg) {
	t.Helper()
	var res struct {
		Data struct {
			Messages struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Subject, TextBody string
						Mailbox           struct{ Name string }
						Account           struct{ Email string }
					}
				}
			}
		}
	}
	graphQL(t, addr, token, `{ messages(where: {messageIDHeader: `+strconv.Quote(m.id)+`}) {
		totalCount
		edges { node { subject textBody mailbox { name } account { email } } } } }`, &res)
	var owners []string
	for _, e := range res.Data.Messages.Edges {
		n := e.Node
		if n.Subject != "durability "+m.id || n.Mailbox.Name != "INBOX" ||
			!strings.Contains(n.TextBody, "end of "+m.id) {
			t.Errorf("API: %s has subject %q, mailbox %q, body of %d bytes",
				m.id, n.Subject, n.Mailbox.Name, len(n.TextBody))
		}
		owners = append(owners, n.Account.Email)
	}
	slices.Sort(owners)
	if res.Data.Messages.TotalCount != len(m.rcpts) || !slices.Equal(owners, m.rcpts) {
		t.Errorf("API: %s is held by %v (total %d), want %v",
			m.id, owners, res.Data.Messages.TotalCount, m.rcpts)
	}
}

// graphQL runs query through curlGraphQL and decodes the answer into v,
// failing the test on any GraphQL error.
func graphQL(t *testing.T, addr, token, query string, v any) {
	t.Helper()
	res := curlGraphQL(t, addr, token, query)
	if errs, ok := res["errors"]; ok {
		t.Fatalf("GraphQL %s: %v", query, errs)
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
