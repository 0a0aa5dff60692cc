package graph

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/graph/model"
	"github.com/lightr-mail/lightr/mail/compose"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/submit"
)

// submitOptions returns what mail/submit needs from the resolver.
func (r *Resolver) submitOptions() submit.Options {
	return submit.Options{Store: r.Store, Notify: r.Notify, MaxMessageBytes: r.MaxMessageBytes, Domains: r.Domains}
}

// sendRequest turns the GraphQL input into a submit.Request, decoding the
// attachments.
func sendRequest(in model.SendEmailInput) (*submit.Request, error) {
	req := &submit.Request{
		From: in.From, To: in.To, Cc: in.Cc, Bcc: in.Bcc, ReplyTo: in.ReplyTo,
		Subject: deref(in.Subject), Text: deref(in.Text), HTML: deref(in.HTML),
		IdempotencyKey: deref(in.IdempotencyKey),
		TrackOpens:     in.TrackOpens, TrackClicks: in.TrackClicks,
	}
	for i, a := range in.Attachments {
		b, err := base64.StdEncoding.DecodeString(a.Content)
		if err != nil {
			return nil, &directory.InputError{
				Field: fmt.Sprintf("attachments[%d].content", i), Msg: "not base64",
			}
		}
		req.Attachments = append(req.Attachments, compose.Attachment{
			Filename: a.Filename, ContentType: deref(a.ContentType), Content: b,
			ContentID: deref(a.ContentID),
		})
	}
	for _, h := range in.Headers {
		req.Headers = append(req.Headers, compose.Field{Name: h.Name, Value: h.Value})
	}
	return req, nil
}

// afterCommit calls f once the mutation's transaction has committed, so
// that whoever it tells (the outbound workers, the readers of the event
// log) never looks before the rows are visible. Outside a transaction it
// calls f now.
func afterCommit(ctx context.Context, f func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		f()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			f()
			return nil
		})
	})
}

// outboundChange runs a mutation of mail/submit and, once it committed,
// wakes the workers and publishes the events it appended (queued,
// canceled) to the organization's log.
func (r *Resolver) outboundChange(ctx context.Context, m *ent.OutboundMessage,
	err error) (*ent.OutboundMessage, error) {
	if err != nil {
		return nil, err
	}
	org := m.OrganizationID
	afterCommit(ctx, func() {
		r.Notify.PublishEvents(org)
		if r.Wake != nil {
			r.Wake()
		}
	})
	return m, nil
}

// webhookDelivery returns a delivery that a mutation queued and, once the
// mutation committed, wakes the webhook dispatcher to send it.
func (r *Resolver) webhookDelivery(ctx context.Context, d *ent.WebhookDelivery,
	err error) (*ent.WebhookDelivery, error) {
	if err != nil {
		return nil, err
	}
	if r.WakeWebhooks != nil {
		afterCommit(ctx, r.WakeWebhooks)
	}
	return d, nil
}
