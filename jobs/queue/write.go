package queue

import (
	"strings"
	"time"

	"github.com/lightr-mail/lightr/ent/deliveryattempt"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/server/db"
)

// The statements of Complete. They are raw SQL rather than Ent builders
// because they run for every recipient of every delivery, inside the
// single writer's transaction: the tenant hook of an Ent create reads the
// organization of each row it links to (two more queries per row), and
// the builders add their own allocations and SQL text per call. Tenancy
// holds regardless: every row takes the organization of the unit, which
// Claim read from the message, and the tests read the rows back through
// Ent. The column names come from the generated constants.
var (
	updateRecipient = "UPDATE " + outboundrecipient.Table + " SET " + strings.Join([]string{
		outboundrecipient.FieldStatus + " = ?", outboundrecipient.FieldAttempts + " = ?",
		outboundrecipient.FieldNextAttemptAt + " = ?", outboundrecipient.FieldLastError + " = ?",
		outboundrecipient.FieldRemoteMx + " = ?", outboundrecipient.FieldTLS + " = ?",
		outboundrecipient.FieldLeaseOwner + " = ''", outboundrecipient.FieldLeaseUntil + " = NULL",
		outboundrecipient.FieldUpdatedAt + " = ?",
	}, ", ") + " WHERE " + outboundrecipient.FieldID + " = ?"

	insertAttempt = db.InsertSQL(deliveryattempt.Table, []string{
		deliveryattempt.FieldID, deliveryattempt.FieldCreatedAt, deliveryattempt.FieldUpdatedAt,
		deliveryattempt.FieldOrganizationID, deliveryattempt.FieldRecipientID, deliveryattempt.FieldResult,
		deliveryattempt.FieldSMTPCode, deliveryattempt.FieldEnhancedCode, deliveryattempt.FieldResponse,
		deliveryattempt.FieldRemoteMx, deliveryattempt.FieldTLS, deliveryattempt.FieldDurationMs,
	}...)

	insertEvent = db.InsertSQL(event.Table, []string{
		event.FieldID, event.FieldOrganizationID, event.FieldType, event.FieldDomainID,
		event.FieldAccountID, event.FieldMessageID, event.FieldRecipient, event.FieldPayload,
		event.FieldCreatedAt,
	}...)
)

// nullTime is t for a nullable column: NULL when t is nil.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// nullString is s for a nullable column: NULL when s is empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
