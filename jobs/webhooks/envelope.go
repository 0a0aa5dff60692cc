package webhooks

import (
	"encoding/json"
	"time"

	"github.com/lightr-mail/lightr/ent"
)

// Envelope is the JSON body of a delivery (Standard Webhooks' type,
// timestamp and data). Its data carries the event under the names the
// GraphQL Event type uses.
type Envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is one event of the log.
type EventData struct {
	ID             string         `json:"id"`
	Cursor         int64          `json:"cursor"`
	OrganizationID string         `json:"organizationId"`
	DomainID       *string        `json:"domainId"`
	AccountID      *string        `json:"accountId"`
	MessageID      *string        `json:"messageId"`
	Recipient      *string        `json:"recipient"`
	Payload        map[string]any `json:"payload"`
	CreatedAt      time.Time      `json:"createdAt"`
}

// EnvelopeOf returns the envelope of e, encoded.
func EnvelopeOf(e *ent.Event) ([]byte, error) {
	at := e.CreatedAt.UTC()
	return json.Marshal(Envelope{
		Type:      e.Type,
		Timestamp: at,
		Data: EventData{
			ID:             string(e.ID),
			Cursor:         e.Seq,
			OrganizationID: string(e.OrganizationID),
			DomainID:       nonEmpty(string(e.DomainID)),
			AccountID:      nonEmpty(string(e.AccountID)),
			MessageID:      nonEmpty(string(e.MessageID)),
			Recipient:      nonEmpty(e.Recipient),
			Payload:        e.Payload,
			CreatedAt:      at,
		},
	})
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
