package graph

import (
	"context"
	"log/slog"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/graph/model"
	"github.com/lightr-mail/lightr/jobs/webhooks"
	"github.com/lightr-mail/lightr/mail/feed"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
)

// Resolver holds what the resolvers need. It is built once per server.
type Resolver struct {
	Client *ent.Client
	Auth   *access.Authenticator
	Log    *slog.Logger
	// Store holds the raw messages; nil means the database store.
	Store *store.Store
	// Notify hears of the mailboxes mutations change, after they commit;
	// nil tells no one.
	Notify *notify.Hub
	// Wake tells the outbound workers that mail was queued or made due;
	// it is called after the mutation's transaction committed. nil wakes
	// no one (the workers find the mail at their next poll).
	Wake func()
	// MaxMessageBytes bounds a message built by sendEmail; 0 means no
	// bound.
	MaxMessageBytes int64
	// Feed serves the events subscription.
	Feed *feed.Feed
	// Webhooks says which endpoint URLs createWebhook and updateWebhook
	// accept; the zero Policy allows public https URLs only.
	Webhooks webhooks.Policy
	// WakeWebhooks tells the webhook dispatcher that a mutation queued a
	// delivery (testWebhook, redeliverWebhookDelivery), after its commit;
	// nil leaves it to the dispatcher's poll.
	WakeWebhooks func()
	// Domains reads the sending domains, so that sendEmail signs as it
	// queues; nil leaves signing to the outbound workers.
	Domains *outbox.DomainCache
}

// store returns the store of raw messages.
func (r *Resolver) store() *store.Store {
	if r.Store == nil {
		return store.New()
	}
	return r.Store
}

// client returns the transaction's client inside a mutation (which
// entgql.Transactioner wraps in one transaction), else the plain client.
func (r *Resolver) client(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.Client
}

// deleted turns the result of a delete into its payload.
func deleted(id pulid.ID, err error) (*model.DeletePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.DeletePayload{DeletedID: id}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orSlice returns a unless it is nil, else b.
func orSlice[T any](a, b []T) []T {
	if a != nil {
		return a
	}
	return b
}
