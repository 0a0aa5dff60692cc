package feed

import (
	"strconv"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Event is an entry of the log as subscribers see it: the ids it does not
// concern are nil rather than empty, and its seq is also a cursor. The
// JSON names are those of the GraphQL Event type. An Event is shared by
// every subscriber it goes to; nobody may change it.
type Event struct {
	ID pulid.ID `json:"id"`
	// Seq is the position in the log; Cursor is its decimal form.
	Seq            int64          `json:"-"`
	Cursor         string         `json:"cursor"`
	Type           string         `json:"type"`
	OrganizationID pulid.ID       `json:"organizationId"`
	DomainID       *pulid.ID      `json:"domainId"`
	AccountID      *pulid.ID      `json:"accountId"`
	MessageID      *pulid.ID      `json:"messageId"`
	Recipient      *string        `json:"recipient"`
	Payload        map[string]any `json:"payload"`
	CreatedAt      time.Time      `json:"createdAt"`
}

// FromRow returns the Event of row e.
func FromRow(e *ent.Event) *Event {
	return &Event{
		ID: e.ID, Seq: e.Seq, Cursor: strconv.FormatInt(e.Seq, 10), Type: e.Type,
		OrganizationID: e.OrganizationID,
		DomainID:       optional(e.DomainID), AccountID: optional(e.AccountID), MessageID: optional(e.MessageID),
		Recipient: optional(e.Recipient), Payload: e.Payload, CreatedAt: e.CreatedAt,
	}
}

// ParseCursor returns the seq of a cursor.
func ParseCursor(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrCursor
	}
	return n, nil
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
