package db_test

import (
	"context"
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// listIDs lists every row of typ that ctx's viewer can see.
func listIDs(t *testing.T, c *ent.Client, ctx context.Context, typ string) []pulid.ID {
	t.Helper()
	var (
		ids []pulid.ID
		err error
	)
	switch typ {
	case "Organization":
		ids, err = c.Organization.Query().IDs(ctx)
	case "Domain":
		ids, err = c.Domain.Query().IDs(ctx)
	case "Account":
		ids, err = c.Account.Query().IDs(ctx)
	case "Mailbox":
		ids, err = c.Mailbox.Query().IDs(ctx)
	case "Blob":
		ids, err = c.Blob.Query().IDs(ctx)
	case "Message":
		ids, err = c.Message.Query().IDs(ctx)
	case "MailAlias":
		ids, err = c.MailAlias.Query().IDs(ctx)
	case "OutboundMessage":
		ids, err = c.OutboundMessage.Query().IDs(ctx)
	case "OutboundRecipient":
		ids, err = c.OutboundRecipient.Query().IDs(ctx)
	case "DeliveryAttempt":
		ids, err = c.DeliveryAttempt.Query().IDs(ctx)
	case "Event":
		ids, err = c.Event.Query().IDs(ctx)
	case "Webhook":
		ids, err = c.Webhook.Query().IDs(ctx)
	case "WebhookDelivery":
		ids, err = c.WebhookDelivery.Query().IDs(ctx)
	case "Template":
		ids, err = c.Template.Query().IDs(ctx)
	case "APIKey":
		ids, err = c.APIKey.Query().IDs(ctx)
	case "DKIMKey":
		ids, err = c.DKIMKey.Query().IDs(ctx)
	case "Suppression":
		ids, err = c.Suppression.Query().IDs(ctx)
	default:
		t.Fatalf("no list for %s", typ)
	}
	if err != nil {
		t.Fatalf("list %s: %v", typ, err)
	}
	return ids
}

// deleteByID deletes the row of typ with id as ctx's viewer.
func deleteByID(ctx context.Context, c *ent.Client, typ string, id pulid.ID) error {
	switch typ {
	case "Organization":
		return c.Organization.DeleteOneID(id).Exec(ctx)
	case "Domain":
		return c.Domain.DeleteOneID(id).Exec(ctx)
	case "Account":
		return c.Account.DeleteOneID(id).Exec(ctx)
	case "Mailbox":
		return c.Mailbox.DeleteOneID(id).Exec(ctx)
	case "Blob":
		return c.Blob.DeleteOneID(id).Exec(ctx)
	case "Message":
		return c.Message.DeleteOneID(id).Exec(ctx)
	case "MailAlias":
		return c.MailAlias.DeleteOneID(id).Exec(ctx)
	case "OutboundMessage":
		return c.OutboundMessage.DeleteOneID(id).Exec(ctx)
	case "OutboundRecipient":
		return c.OutboundRecipient.DeleteOneID(id).Exec(ctx)
	case "DeliveryAttempt":
		return c.DeliveryAttempt.DeleteOneID(id).Exec(ctx)
	case "Event":
		return c.Event.DeleteOneID(id).Exec(ctx)
	case "Webhook":
		return c.Webhook.DeleteOneID(id).Exec(ctx)
	case "WebhookDelivery":
		return c.WebhookDelivery.DeleteOneID(id).Exec(ctx)
	case "Template":
		return c.Template.DeleteOneID(id).Exec(ctx)
	case "APIKey":
		return c.APIKey.DeleteOneID(id).Exec(ctx)
	case "DKIMKey":
		return c.DKIMKey.DeleteOneID(id).Exec(ctx)
	case "Suppression":
		return c.Suppression.DeleteOneID(id).Exec(ctx)
	}
	panic("no delete for " + typ)
}
