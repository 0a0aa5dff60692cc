package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/ent/webhook"
	"github.com/lightr-mail/lightr/ent/webhookdelivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/feed"
)

// DefaultKeepPrevious is how long a rotated-out secret keeps signing.
const DefaultKeepPrevious = 24 * time.Hour

// maxEventTypes bounds the filter list of one endpoint.
const maxEventTypes = 50

// eventType is the shape of an event type: dot-separated lower-case words.
var eventType = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// Create makes a webhook in the viewer's organization from in, with a new
// secret, and returns it with the secret (the only time it is shown). The
// endpoint starts at the end of the event log.
func Create(ctx context.Context, c *ent.Client, p Policy, in ent.CreateWebhookInput) (*ent.Webhook, string, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.OrgID == "" {
		return nil, "", &directory.InputError{Field: "organization",
			Msg: "webhooks belong to an organization; use an organization's credentials"}
	}
	if err := checkInput(ctx, c, p, &in.URL, in.EventTypes, in.DomainID); err != nil {
		return nil, "", err
	}
	seq, err := feed.LastSeq(ctx, c, v.OrgID)
	if err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	w, err := c.Webhook.Create().SetInput(in).SetSecret(secret).SetCursorSeq(seq).Save(ctx)
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// Update changes a webhook. Deactivating it fails its pending deliveries;
// activating it again starts it at the end of the event log and clears
// its failure count.
func Update(ctx context.Context, c *ent.Client, p Policy, id pulid.ID,
	in ent.UpdateWebhookInput) (*ent.Webhook, error) {
	w, err := c.Webhook.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.AppendEventTypes != nil {
		// entgql v0.7.0's Mutate appends the wrong list (as for API key
		// scopes), so the append is made here, as a replacement.
		in.EventTypes = append(slices.Clone(orSlice(in.EventTypes, w.EventTypes)), in.AppendEventTypes...)
		in.AppendEventTypes = nil
	}
	if err := checkInput(ctx, c, p, in.URL, in.EventTypes, in.DomainID); err != nil {
		return nil, err
	}
	u := c.Webhook.UpdateOne(w).SetInput(in)
	if in.Active != nil && *in.Active != w.Active {
		if *in.Active {
			seq, err := feed.LastSeq(ctx, c, w.OrganizationID)
			if err != nil {
				return nil, err
			}
			u.SetCursorSeq(seq).SetConsecutiveFailures(0).ClearFailingSince().ClearDisabledAt()
		} else if err := failPending(ctx, c, id, "endpoint deactivated"); err != nil {
			return nil, err
		}
	}
	return u.Save(ctx)
}

// Delete removes a webhook and its delivery log.
func Delete(ctx context.Context, c *ent.Client, id pulid.ID) error {
	if _, err := c.Webhook.Get(ctx, id); err != nil {
		return err
	}
	if _, err := c.WebhookDelivery.Delete().Where(webhookdelivery.WebhookID(id)).Exec(ctx); err != nil {
		return fmt.Errorf("delete deliveries of %s: %w", id, err)
	}
	return c.Webhook.DeleteOneID(id).Exec(ctx)
}

// Rotate gives a webhook a new secret and returns it; the current one
// keeps signing beside it for keep (DefaultKeepPrevious when zero).
func Rotate(ctx context.Context, c *ent.Client, id pulid.ID, keep time.Duration,
	now time.Time) (*ent.Webhook, string, error) {
	if keep < 0 {
		return nil, "", &directory.InputError{Field: "keepPreviousSeconds", Msg: "must not be negative"}
	}
	if keep == 0 {
		keep = DefaultKeepPrevious
	}
	w, err := c.Webhook.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	w, err = c.Webhook.UpdateOne(w).
		SetSecret(secret).
		SetPreviousSecret(w.Secret).
		SetPreviousSecretExpiresAt(now.Add(keep).UTC()).
		Save(ctx)
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// EventTest is the type of the delivery Test queues. It is no event of
// the log: it goes to the one endpoint tested, and to no subscription.
const EventTest = "webhook.test"

// Test queues a webhook.test delivery to webhook id alone, due now, so
// that an integrator can check the endpoint and its signature check
// without waiting for mail. It is delivered, retried and counted against
// the endpoint like any other; its eventId names no stored event.
func Test(ctx context.Context, c *ent.Client, id pulid.ID, now time.Time) (*ent.WebhookDelivery, error) {
	w, err := c.Webhook.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !w.Active {
		return nil, &directory.InputError{Field: "id", Msg: "the webhook is not active; activate it first"}
	}
	now = now.UTC()
	ev := pulid.New("evt")
	body, err := json.Marshal(Envelope{
		Type:      EventTest,
		Timestamp: now,
		Data: EventData{
			ID:             string(ev),
			OrganizationID: string(w.OrganizationID),
			Payload:        map[string]any{"webhookId": string(w.ID)},
			CreatedAt:      now,
		},
	})
	if err != nil {
		return nil, err
	}
	return c.WebhookDelivery.Create().
		SetOrganizationID(w.OrganizationID).
		SetWebhookID(w.ID).
		SetEventID(ev).
		SetEventType(EventTest).
		SetBody(body).
		SetNextAttemptAt(now).
		Save(ctx)
}

// Redeliver queues delivery id again, due now, with its attempts counted
// from zero. It keeps its body and its id, which is the webhook-id, so a
// receiver that already processed it can tell. A delivery still pending
// is returned as it is; the webhook must be active.
func Redeliver(ctx context.Context, c *ent.Client, id pulid.ID, now time.Time) (*ent.WebhookDelivery, error) {
	d, err := c.WebhookDelivery.Query().Where(webhookdelivery.ID(id)).WithWebhook().Only(ctx)
	if err != nil {
		return nil, err
	}
	if !d.Edges.Webhook.Active {
		return nil, &directory.InputError{Field: "id", Msg: "the delivery's webhook is not active; activate it first"}
	}
	if d.Status == webhookdelivery.StatusPending {
		return d, nil
	}
	return c.WebhookDelivery.UpdateOne(d).
		SetStatus(webhookdelivery.StatusPending).
		SetAttempts(0).
		SetNextAttemptAt(now.UTC()).
		ClearDeliveredAt().
		SetLeaseOwner("").
		ClearLeaseUntil().
		Save(ctx)
}

// checkInput checks the fields a create or update sets (nil: unchanged).
func checkInput(ctx context.Context, c *ent.Client, p Policy, url *string, types []string,
	domain *pulid.ID) error {
	if url != nil {
		if err := p.CheckURL(*url); err != nil {
			return &directory.InputError{Field: "url", Msg: err.Error()}
		}
	}
	if len(types) > maxEventTypes {
		return &directory.InputError{Field: "eventTypes", Msg: fmt.Sprintf("at most %d", maxEventTypes)}
	}
	for _, t := range types {
		if !eventType.MatchString(t) {
			return &directory.InputError{Field: "eventTypes", Msg: fmt.Sprintf("%q is not an event type", t)}
		}
	}
	if domain != nil && *domain != "" {
		// The viewer's own domains only: the privacy filter hides others.
		if _, err := c.Domain.Get(ctx, *domain); err != nil {
			return &directory.InputError{Field: "domainID", Msg: "no such domain"}
		}
	}
	return nil
}

// failPending fails the deliveries of webhook id that wait.
func failPending(ctx context.Context, c *ent.Client, id pulid.ID, why string) error {
	err := c.WebhookDelivery.Update().
		Where(webhookdelivery.WebhookID(id), webhookdelivery.StatusEQ(webhookdelivery.StatusPending)).
		SetStatus(webhookdelivery.StatusFailed).
		SetLastError(why).
		ClearNextAttemptAt().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("fail pending deliveries of %s: %w", id, err)
	}
	return nil
}

// orSlice returns a unless it is nil, else b.
func orSlice[T any](a, b []T) []T {
	if a != nil {
		return a
	}
	return b
}

// activeWebhooks selects the endpoints that receive events.
var activeWebhooks = webhook.Active(true)
