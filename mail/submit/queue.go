package submit

import (
	"context"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/outbox"
)

// pending are the states a recipient waits in for an attempt.
var pending = outboundrecipient.StatusIn(outboundrecipient.StatusQueued, outboundrecipient.StatusDeferred)

// Retry makes every recipient of message id that still waits (queued or
// deferred) due now, as Postfix's `postqueue -i` does for a queue id.
// Delivered, bounced, failed and canceled recipients are left alone: a
// bounce was the remote server's final answer, and sending again is a
// new sendEmail. The caller wakes the workers after commit.
func Retry(ctx context.Context, c *ent.Client, id pulid.ID) (*ent.OutboundMessage, error) {
	if err := requireSend(ctx); err != nil {
		return nil, err
	}
	m, err := load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	err = c.OutboundRecipient.Update().
		Where(outboundrecipient.OutboundMessageID(m.ID), pending).
		ClearNextAttemptAt().
		Exec(rule.SystemContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("submit: retry %s: %w", id, err)
	}
	return m, nil
}

// Cancel gives up message id for every recipient that still waits: each
// becomes canceled, with a message.canceled event. A delivery in flight
// finishes, but its outcome does not undo the cancel (jobs/queue).
func Cancel(ctx context.Context, c *ent.Client, id pulid.ID) (*ent.OutboundMessage, error) {
	if err := requireSend(ctx); err != nil {
		return nil, err
	}
	m, err := load(ctx, c, id)
	if err != nil {
		return nil, err
	}
	sys := rule.SystemContext(ctx)
	rs, err := c.OutboundRecipient.Query().
		Where(outboundrecipient.OutboundMessageID(m.ID), pending).
		All(sys)
	if err != nil {
		return nil, fmt.Errorf("submit: cancel %s: %w", id, err)
	}
	if len(rs) == 0 {
		return m, nil
	}
	ids := make([]pulid.ID, len(rs))
	events := make([]*ent.EventCreate, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
		events[i] = outbox.NewEvent(c, m, r.Address, outbox.EventCanceled,
			map[string]any{"status": string(outboundrecipient.StatusCanceled), "attempt": r.Attempts})
	}
	err = c.OutboundRecipient.Update().
		Where(outboundrecipient.IDIn(ids...)).
		SetStatus(outboundrecipient.StatusCanceled).
		ClearNextAttemptAt().
		Exec(sys)
	if err != nil {
		return nil, fmt.Errorf("submit: cancel %s: %w", id, err)
	}
	if err := c.Event.CreateBulk(events...).Exec(sys); err != nil {
		return nil, fmt.Errorf("submit: cancel %s: events: %w", id, err)
	}
	return m, nil
}

// load returns outbound message id if the viewer may act on it: one of
// its organization's or, for an account, one its account sent. Another
// organization's message is not found, exactly like one that does not
// exist. The read and the changes that follow run as the system, after
// this check, because the send scope alone reads nothing (requireSend).
func load(ctx context.Context, c *ent.Client, id pulid.ID) (*ent.OutboundMessage, error) {
	m, err := c.OutboundMessage.Get(rule.SystemContext(ctx), id)
	if err != nil {
		return nil, fmt.Errorf("submit: outbound message %s: %w", id, err)
	}
	v := viewer.FromContext(ctx)
	switch {
	case v.Admin():
	case m.OrganizationID != v.OrgID,
		v.Kind == viewer.KindAccount && m.AccountID != v.AccountID:
		return nil, fmt.Errorf("submit: outbound message %s: %w", id, &ent.NotFoundError{})
	}
	return m, nil
}
