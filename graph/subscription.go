package graph

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"entgo.io/ent/privacy"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/feed"
)

// Error codes (extensions.code) that end or refuse a subscription.
const (
	// CodeSlowConsumer ends a subscription that fell behind.
	CodeSlowConsumer = "SLOW_CONSUMER"
	// CodeTooManySubscriptions refuses a subscription past a limit.
	CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"
)

// events starts the events subscription of the viewer's organization.
func (r *Resolver) events(ctx context.Context, types []string, after *string,
	domainID, accountID, messageID *pulid.ID) (<-chan *feed.Event, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.Kind != viewer.KindOrg || !v.Has(viewer.ScopeRead) {
		return nil, privacy.Denyf("graph: events need an organization's credential with the read scope")
	}
	var from *int64
	if after != nil {
		n, err := feed.ParseCursor(*after)
		if err != nil {
			return nil, &directory.InputError{Field: "after", Msg: "not a cursor of this log"}
		}
		from = &n
	}
	if !acquireSubscription(ctx) {
		return nil, limitError("too many subscriptions on this connection")
	}
	s, err := r.Feed.Subscribe(ctx, v.OrgID, from, feed.Filter{
		Types: types, Domain: deref(domainID), Account: deref(accountID), Message: deref(messageID),
	})
	if errors.Is(err, feed.ErrTooMany) {
		releaseSubscription(ctx)
		return nil, limitError("too many subscriptions for this organization")
	}
	if err != nil {
		releaseSubscription(ctx)
		return nil, err
	}
	context.AfterFunc(ctx, func() { releaseSubscription(ctx) })
	if end := streamEndFrom(ctx); end != nil {
		// The feed closes C with its reason; the StreamErrors extension
		// turns a reason into the stream's last response.
		end.err = s.Err
	}
	return s.C, nil
}

func limitError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": CodeTooManySubscriptions}}
}

// subscriptionLimit counts the subscriptions of one connection.
type subscriptionLimit struct {
	max int32
	n   atomic.Int32
}

type limitKey struct{}

// WithSubscriptionLimit bounds the subscriptions started with ctx (or
// contexts derived from it, as a WebSocket connection's operations are)
// to n at a time.
func WithSubscriptionLimit(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, limitKey{}, &subscriptionLimit{max: int32(min(n, 1<<30))})
}

func acquireSubscription(ctx context.Context) bool {
	l, _ := ctx.Value(limitKey{}).(*subscriptionLimit)
	if l == nil {
		return true
	}
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

func releaseSubscription(ctx context.Context) {
	if l, _ := ctx.Value(limitKey{}).(*subscriptionLimit); l != nil {
		l.n.Add(-1)
	}
}

// streamEnd carries why a subscription's stream ended from the resolver
// to the StreamErrors extension.
type streamEnd struct {
	err  func() error
	once sync.Once
}

type streamEndKey struct{}

func streamEndFrom(ctx context.Context) *streamEnd {
	e, _ := ctx.Value(streamEndKey{}).(*streamEnd)
	return e
}

// StreamErrors ends a subscription whose source stopped with an error
// (feed.ErrSlowConsumer, a failed query) with one last response that
// carries the error, the same over every transport; gqlgen's own
// transport.AddSubscriptionError exists for WebSocket only.
type StreamErrors struct {
	Log *slog.Logger
}

var (
	_ graphql.OperationInterceptor = StreamErrors{}
	_ graphql.ResponseInterceptor  = StreamErrors{}
)

// ExtensionName implements graphql.HandlerExtension.
func (StreamErrors) ExtensionName() string { return "StreamErrors" }

// Validate implements graphql.HandlerExtension.
func (StreamErrors) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (StreamErrors) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	return next(context.WithValue(ctx, streamEndKey{}, &streamEnd{}))
}

// InterceptResponse implements graphql.ResponseInterceptor.
func (x StreamErrors) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	end := streamEndFrom(ctx)
	if resp != nil || end == nil || end.err == nil {
		return resp
	}
	var err error
	end.once.Do(func() { err = end.err() })
	switch {
	case errors.Is(err, feed.ErrSlowConsumer):
		return &graphql.Response{Errors: gqlerror.List{{
			Message:    "subscriber too slow; resubscribe with after set to the last cursor received",
			Extensions: map[string]any{"code": CodeSlowConsumer},
		}}}
	case err != nil:
		x.Log.ErrorContext(ctx, "subscription failed", "err", err)
		return &graphql.Response{Errors: gqlerror.List{{
			Message: "internal error", Extensions: map[string]any{"code": "INTERNAL"},
		}}}
	}
	return nil
}
