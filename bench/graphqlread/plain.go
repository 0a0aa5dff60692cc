package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/access"
)

// plainQuery is, column for column and clause for clause, the SELECT that
// ent builds for the GraphQL query: the tenant filter that the privacy
// rule adds, the EXISTS that hasMailboxWith makes, the order with the id
// as tie-breaker, and one row more than the page to learn whether there
// is a next page.
const plainQuery = `SELECT messages.id, messages.uid, messages.subject, messages.from_address,
	messages.from_name, messages.to_addresses, messages.preview, messages.size,
	messages.internal_date, messages.seen, messages.flagged
FROM messages
WHERE EXISTS (SELECT mailboxes.id FROM mailboxes
		WHERE messages.mailbox_id = mailboxes.id AND mailboxes.name = ?)
	AND messages.organization_id = ?
ORDER BY messages.internal_date DESC, messages.id DESC
LIMIT ?`

// plainHandler is what a hand-written REST endpoint for the same page
// would be: it authenticates the bearer credential as the GraphQL route
// does, runs one query on the reader pool and encodes the rows with
// encoding/json. Like ent, it does not prepare the statement.
type plainHandler struct {
	auth    *access.Authenticator
	db      *sql.DB
	maxPage int
}

// message is one row of the page. Its JSON names are those of the
// GraphQL Message type, so one type decodes both responses.
type message struct {
	ID           string    `json:"id"`
	UID          uint32    `json:"uid"`
	Subject      string    `json:"subject"`
	FromAddress  string    `json:"fromAddress"`
	FromName     string    `json:"fromName"`
	ToAddresses  []string  `json:"toAddresses"`
	Preview      string    `json:"preview"`
	Size         int64     `json:"size"`
	InternalDate time.Time `json:"internalDate"`
	Seen         bool      `json:"seen"`
	Flagged      bool      `json:"flagged"`
}

// pageInfo mirrors the GraphQL PageInfo fields the benchmark asks for.
type pageInfo struct {
	EndCursor   *string `json:"endCursor"`
	HasNextPage bool    `json:"hasNextPage"`
}

// page is the plain handler's response body.
type page struct {
	Messages []message `json:"messages"`
	PageInfo pageInfo  `json:"pageInfo"`
}

// ServeHTTP implements http.Handler.
func (h *plainHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "bearer credential required", http.StatusUnauthorized)
		return
	}
	v, err := h.auth.Authenticate(r.Context(), strings.TrimSpace(bearer))
	if err != nil {
		http.Error(w, "invalid or expired credential", http.StatusUnauthorized)
		return
	}
	// Without the privacy rules, the handler enforces tenancy itself.
	if v.Kind != viewer.KindOrg || !v.Has(viewer.ScopeRead) {
		http.Error(w, "an organization token with the read scope is required", http.StatusForbidden)
		return
	}

	q := r.URL.Query()
	first, err := strconv.Atoi(q.Get("first"))
	if err != nil || first < 1 || first > h.maxPage {
		http.Error(w, "first must be between 1 and "+strconv.Itoa(h.maxPage), http.StatusBadRequest)
		return
	}
	box := q.Get("mailbox")
	if box == "" {
		box = "INBOX"
	}

	p, err := h.list(r.Context(), v.OrgID, box, first)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// list returns the first n messages of org's mailboxes named box, newest
// first.
func (h *plainHandler) list(ctx context.Context, org pulid.ID, box string, n int) (*page, error) {
	rows, err := h.db.QueryContext(ctx, plainQuery, box, string(org), n+1)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	p := &page{Messages: make([]message, 0, n)}
	for rows.Next() {
		if len(p.Messages) == n {
			p.PageInfo.HasNextPage = true
			break
		}
		var m message
		var to []byte
		err := rows.Scan(&m.ID, &m.UID, &m.Subject, &m.FromAddress, &m.FromName, &to,
			&m.Preview, &m.Size, &m.InternalDate, &m.Seen, &m.Flagged)
		if err != nil {
			return nil, err
		}
		// Ent keeps string lists as JSON text.
		if len(to) > 0 {
			if err := json.Unmarshal(to, &m.ToAddresses); err != nil {
				return nil, err
			}
		}
		p.Messages = append(p.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(p.Messages) > 0 {
		last := p.Messages[len(p.Messages)-1]
		c := cursor(last.InternalDate, last.ID)
		p.PageInfo.EndCursor = &c
	}
	return p, nil
}

// cursor encodes a keyset position that a next-page request would resume
// from, as opaque to clients as the GraphQL cursor.
func cursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.Format(time.RFC3339Nano) + "|" + id))
}
