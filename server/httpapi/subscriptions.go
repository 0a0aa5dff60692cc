package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/graph"
	"github.com/lightr-mail/lightr/server/access"
)

// Subscriptions configure GraphQL subscriptions.
type Subscriptions struct {
	// MaxPerConnection bounds the subscriptions of one WebSocket.
	MaxPerConnection int
	// KeepAlive is the interval of pings: graphql-transport-ws ping
	// (a client that misses two pongs' worth is dropped), graphql-ws
	// ka, and an SSE comment.
	KeepAlive time.Duration
	// InitTimeout is the time a WebSocket client has to authenticate.
	InitTimeout time.Duration
	// AllowedOrigins are host patterns (path.Match, as coder/websocket's
	// OriginPatterns) of other origins that browsers may open WebSockets
	// from. The request's own host is always allowed, as is a client that
	// sends no Origin (anything but a browser).
	AllowedOrigins []string
	// Recheck is how often a subscription's credential is checked again
	// (Authenticator.StillValid), so that deleting its API key or
	// disabling its organization closes it; zero means never.
	Recheck time.Duration
}

// Close codes of a WebSocket whose connection_init failed. 4403 is what
// the graphql-transport-ws protocol asks for; 1011 is an internal error.
const (
	closeForbidden = 4403
	closeInternal  = 1011
)

// websocket returns the WebSocket transport. It speaks graphql-transport-ws
// and, to clients that name no subprotocol or graphql-ws, the legacy
// graphql-ws (Apollo subscriptions-transport-ws).
//
// The credential comes in connection_init's payload, as Authorization:
// "Bearer <token>" (browsers cannot set headers on a WebSocket). The
// connection closes when its credential expires or stops being valid
// (whileValid).
func websocket(o Options) transport.Websocket {
	s := o.Subscriptions
	return transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{
			OriginPatterns: s.AllowedOrigins,
		}},
		InitFunc:              initFunc(o.Auth, o.Log, s.MaxPerConnection, s.Recheck),
		InitTimeout:           s.InitTimeout,
		KeepAlivePingInterval: s.KeepAlive,
		PingPongInterval:      s.KeepAlive,
	}
}

// initFunc authenticates a WebSocket's connection_init with the
// credentials the HTTP API accepts (API keys and JWTs).
func initFunc(a *access.Authenticator, log *slog.Logger, maxSubs int,
	recheck time.Duration) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		bearer := strings.TrimSpace(p.Authorization())
		if b, ok := strings.CutPrefix(bearer, "Bearer "); ok {
			bearer = strings.TrimSpace(b)
		}
		v, err := a.Authenticate(ctx, bearer)
		switch {
		case errors.Is(err, access.ErrUnauthenticated):
			log.Info("websocket authentication refused", "request_id", requestID(ctx), "err", err)
			ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
			return transport.AppendCloseReason(ctx, "unauthenticated"), nil,
				errors.New("invalid or expired credential")
		case err != nil:
			log.Error("websocket authentication failed", "request_id", requestID(ctx), "err", err)
			ctx = transport.WithWebsocketCloseCode(ctx, closeInternal)
			return transport.AppendCloseReason(ctx, "internal error"), nil, errors.New("internal error")
		}
		ctx = graph.WithSubscriptionLimit(viewer.NewContext(ctx, v), maxSubs)
		ctx = transport.AppendCloseReason(ctx, "credential expired or revoked")
		return whileValid(ctx, a, log, v, recheck), nil, nil
	}
}

// whileValid returns a context that ends when v's credential expires or,
// asked every recheck, Authenticator.StillValid refuses it: its key was
// deleted, its organization disabled. gqlgen closes a WebSocket when its
// connection's context ends, and an SSE stream ends with its request's.
// A failed check (the database unreachable) keeps the connection.
func whileValid(ctx context.Context, a *access.Authenticator, log *slog.Logger, v *viewer.Viewer,
	recheck time.Duration) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	// The connection's context ends it, and cancel then only marks it done.
	context.AfterFunc(ctx, cancel)
	if !v.Expires.IsZero() {
		t := time.AfterFunc(time.Until(v.Expires), cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	}
	if recheck > 0 && (v.KeyID != "" || !v.Admin()) {
		go func() {
			tick := time.NewTicker(recheck)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				err := a.StillValid(ctx, v)
				switch {
				case errors.Is(err, access.ErrUnauthenticated):
					log.Info("subscription closed: credential no longer valid", "subject", v.Subject, "err", err)
					cancel()
					return
				case err != nil && ctx.Err() == nil:
					log.Warn("subscription credential check failed", "subject", v.Subject, "err", err)
				}
			}
		}()
	}
	return ctx
}

// isWebSocket reports whether r asks for a WebSocket upgrade; its
// credential comes later, in connection_init.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isStream reports whether r asks for an SSE stream.
func isStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// streams lets SSE responses outlive the server's read and write
// timeouts, which bound ordinary requests, and ends them when the
// viewer's credential expires or stops being valid (whileValid).
func streams(a *access.Authenticator, log *slog.Logger, recheck time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		ctx := r.Context()
		if v := viewer.FromContext(ctx); v != nil {
			// Ends with the request's context too, and its checks with it.
			ctx = whileValid(ctx, a, log, v, recheck)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
