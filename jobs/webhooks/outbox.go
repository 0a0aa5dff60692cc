package webhooks

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/webhookdelivery"
	"github.com/lightr-mail/lightr/server/db"
)

// fanOutBatch is the most events read for one endpoint per transaction.
const fanOutBatch = 500

// fanOut turns the events past every active endpoint's cursor into
// deliveries and advances the cursors, in one transaction. It returns how
// many deliveries it queued and whether some endpoint has more events
// waiting.
func fanOut(ctx context.Context, c *ent.Client) (queued int, more bool, err error) {
	err = inTx(ctx, c, "fan out", func(ctx context.Context, c *ent.Client) error {
		hooks, err := c.Webhook.Query().Where(activeWebhooks).All(ctx)
		if err != nil {
			return fmt.Errorf("list endpoints: %w", err)
		}
		for _, w := range hooks {
			n, full, err := fanOutOne(ctx, c, w)
			if err != nil {
				return err
			}
			queued += n
			more = more || full
		}
		return nil
	})
	return queued, more, err
}

// fanOutOne queues the next batch of w's events and reports how many it
// queued and whether the batch was full.
func fanOutOne(ctx context.Context, c *ent.Client, w *ent.Webhook) (int, bool, error) {
	events, err := c.Event.Query().
		Where(event.OrganizationID(w.OrganizationID), event.SeqGT(w.CursorSeq)).
		Order(ent.Asc(event.FieldSeq)).
		Limit(fanOutBatch).
		All(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("read events for %s: %w", w.ID, err)
	}
	if len(events) == 0 {
		return 0, false, nil
	}
	var creates []*ent.WebhookDeliveryCreate
	for _, e := range events {
		if !matches(w, e) {
			continue
		}
		body, err := EnvelopeOf(e)
		if err != nil {
			return 0, false, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		creates = append(creates, c.WebhookDelivery.Create().
			SetOrganizationID(w.OrganizationID).
			SetWebhookID(w.ID).
			SetEventID(e.ID).
			SetEventType(e.Type).
			SetEventSeq(e.Seq).
			SetBody(body))
	}
	for chunk := range slices.Chunk(creates, 100) {
		if err := c.WebhookDelivery.CreateBulk(chunk...).Exec(ctx); err != nil {
			return 0, false, fmt.Errorf("queue deliveries for %s: %w", w.ID, err)
		}
	}
	last := events[len(events)-1].Seq
	if err := c.Webhook.UpdateOneID(w.ID).SetCursorSeq(last).Exec(ctx); err != nil {
		return 0, false, fmt.Errorf("advance cursor of %s: %w", w.ID, err)
	}
	return len(creates), len(events) == fanOutBatch, nil
}

// matches reports whether w takes e: its organization's (the query made
// sure), of a listed type, of its domain.
func matches(w *ent.Webhook, e *ent.Event) bool {
	if len(w.EventTypes) > 0 && !slices.Contains(w.EventTypes, e.Type) {
		return false
	}
	return w.DomainID == "" || w.DomainID == e.DomainID
}

// job is a leased delivery with what its attempt needs.
type job struct {
	d     *ent.WebhookDelivery
	w     *ent.Webhook
	until time.Time
}

// claim leases up to limit due deliveries of active endpoints, oldest
// first, in one transaction (see jobs/queue for why that is safe).
func claim(ctx context.Context, c *ent.Client, owner string, now time.Time, lease time.Duration,
	limit int) ([]job, error) {
	now = now.UTC()
	until := now.Add(lease)
	var jobs []job
	err := inTx(ctx, c, "claim", func(ctx context.Context, c *ent.Client) error {
		rows, err := c.WebhookDelivery.Query().
			Where(
				webhookdelivery.StatusEQ(webhookdelivery.StatusPending),
				webhookdelivery.Or(webhookdelivery.NextAttemptAtIsNil(), webhookdelivery.NextAttemptAtLTE(now)),
				webhookdelivery.Or(webhookdelivery.LeaseUntilIsNil(), webhookdelivery.LeaseUntilLT(now)),
				webhookdelivery.HasWebhookWith(activeWebhooks),
			).
			Order(ent.Asc(webhookdelivery.FieldID)).
			Limit(limit).
			WithWebhook().
			All(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			jobs = append(jobs, job{d: r, w: r.Edges.Webhook, until: until})
		}
		return c.WebhookDelivery.Update().
			Where(webhookdelivery.IDIn(idsOf(rows)...)).
			SetLeaseOwner(owner).
			SetLeaseUntil(until).
			Exec(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: claim: %w", err)
	}
	return jobs, nil
}

// recoverLeases frees the leases an earlier run of node left behind (as
// queue.Recover does for mail).
func recoverLeases(ctx context.Context, c *ent.Client, node, current string) (int, error) {
	var n int
	err := inTx(ctx, c, "recover", func(ctx context.Context, c *ent.Client) error {
		var err error
		n, err = c.WebhookDelivery.Update().
			Where(webhookdelivery.StatusEQ(webhookdelivery.StatusPending),
				webhookdelivery.LeaseOwnerHasPrefix(node+"/"),
				webhookdelivery.LeaseOwnerNEQ(current)).
			SetLeaseOwner("").
			ClearLeaseUntil().
			Save(ctx)
		return err
	})
	return n, err
}

// inTx runs fn in a write transaction.
func inTx(ctx context.Context, c *ent.Client, what string, fn func(context.Context, *ent.Client) error) error {
	return db.InTx(ctx, c, "webhooks: "+what, func(tc *ent.Client) error { return fn(ctx, tc) })
}

func idsOf(rows []*ent.WebhookDelivery) []pulid.ID {
	ids := make([]pulid.ID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
