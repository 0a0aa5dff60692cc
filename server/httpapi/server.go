package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/graph"
	"github.com/lightr-mail/lightr/jobs/webhooks"
	"github.com/lightr-mail/lightr/mail/feed"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
)

// Options configure the HTTP API.
type Options struct {
	Client *ent.Client
	Auth   *access.Authenticator
	// Ready reports whether the server can take traffic (the database
	// answers); /readyz serves it.
	Ready func(context.Context) error
	Log   *slog.Logger
	// Registry receives the HTTP and GraphQL metrics; /metrics serves it.
	Registry *prometheus.Registry
	// Store holds raw messages; nil means the database store.
	Store *store.Store
	// Notify hears of the mailboxes that mutations change, once they
	// commit; nil tells no one.
	Notify *notify.Hub
	// Wake tells the outbound workers that a mutation queued mail or made
	// it due (sendEmail, retryOutboundMessage); it is called after the
	// mutation's transaction committed. nil leaves the mail to the
	// workers' next poll.
	Wake func()

	GraphiQL      bool
	Introspection bool
	MaxDepth      int
	MaxComplexity int
	MaxPageSize   int
	PageSize      int // when a query names neither first nor last
	// MaxBodyBytes bounds a request body, and so also the message that
	// sendEmail builds from one.
	MaxBodyBytes   int64
	QueryCacheSize int
	// Feed serves the events subscription; Subscriptions configure its
	// transports.
	Feed          *feed.Feed
	Subscriptions Subscriptions
	// Tracking serves the open and click endpoints of tracked mail.
	Tracking TrackingOptions
	// Webhooks is the address policy of webhook endpoint URLs.
	Webhooks webhooks.Policy
	// WakeWebhooks tells the webhook dispatcher that a mutation queued a
	// delivery; nil leaves it to the dispatcher's poll.
	WakeWebhooks func()
	// Domains reads the sending domains, for sendEmail to sign as it
	// queues; nil means a cache of the handler's own.
	Domains *outbox.DomainCache
}

// Handler returns the http.Handler for all of Lightr's HTTP routes.
func Handler(o Options) http.Handler {
	if o.QueryCacheSize == 0 {
		o.QueryCacheSize = 1000
	}
	if o.PageSize <= 0 || o.PageSize > o.MaxPageSize {
		o.PageSize = o.MaxPageSize
	}
	m := newMetrics(o.Registry)
	mux := http.NewServeMux()

	gql := graphQL(o)
	mux.Handle("POST /graphql", authenticate(o.Auth, o.Log, streams(o.Auth, o.Log, o.Subscriptions.Recheck, gql)))
	get := checkGETParams(authenticate(o.Auth, o.Log, gql))
	mux.HandleFunc("GET /graphql", func(w http.ResponseWriter, r *http.Request) {
		// A WebSocket authenticates in connection_init, after the upgrade.
		if isWebSocket(r) {
			gql.ServeHTTP(w, r)
			return
		}
		get.ServeHTTP(w, r)
	})
	registerDownloads(mux, o)
	registerTracking(mux, o)
	if o.GraphiQL {
		mux.Handle("GET /{$}", playground.Handler("Lightr", "/graphql"))
		mux.Handle("GET /graphiql", playground.Handler("Lightr", "/graphql"))
	}
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(o.Auth.Keys.JWKS())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := o.Ready(ctx); err != nil {
			o.Log.Warn("not ready", "err", err)
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", m.handler())

	return m.instrument(mux, logRequests(o.Log, limitBody(o.MaxBodyBytes, mux)))
}

// graphQL builds the gqlgen server with Lightr's limits and error policy.
func graphQL(o Options) http.Handler {
	r := &graph.Resolver{
		Client: o.Client, Auth: o.Auth, Log: o.Log, Store: o.Store, Notify: o.Notify,
		Wake: o.Wake, MaxMessageBytes: o.MaxBodyBytes, Webhooks: o.Webhooks,
		Domains: o.Domains, WakeWebhooks: o.WakeWebhooks,
	}
	if r.Domains == nil {
		r.Domains = outbox.NewDomainCache(o.Client, 0)
	}
	r.Feed = o.Feed
	srv := handler.New(graph.NewSchema(r, o.PageSize))
	// SSE before the POST transport, which would take its requests too.
	srv.AddTransport(transport.SSE{KeepAlivePingInterval: o.Subscriptions.KeepAlive})
	srv.AddTransport(websocket(o))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(postTransport{})
	srv.SetQueryCache(pagingCache{
		Cache:    lru.New[*ast.QueryDocument](o.QueryCacheSize),
		pageSize: o.PageSize,
	})
	if o.Introspection {
		graph.Use(srv, extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	graph.Use(srv, queryLimits{MaxDepth: o.MaxDepth, MaxPage: o.MaxPageSize, Introspection: o.Introspection})
	graph.Use(srv, extension.FixedComplexityLimit(o.MaxComplexity))
	// Every mutation runs in one transaction, committed only if all of it
	// succeeds.
	graph.Use(srv, transactioner{entgql.Transactioner{TxOpener: o.Client}})
	graph.Use(srv, graph.StreamErrors{Log: o.Log})
	srv.SetErrorPresenter(errorPresenter(o.Log))
	srv.SetRecoverFunc(recoverFunc(o.Log))
	return srv
}

// authenticate puts the viewer of the request's bearer credential in its
// context, or answers 401 with a GraphQL-shaped UNAUTHENTICATED error.
func authenticate(a *access.Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			unauthenticated(w, "an Authorization: Bearer header with a token or API key is required")
			return
		}
		v, err := a.Authenticate(r.Context(), strings.TrimSpace(bearer))
		switch {
		case errors.Is(err, access.ErrUnauthenticated):
			log.Info("authentication refused", "remote_ip", r.RemoteAddr,
				"request_id", requestID(r.Context()), "err", err)
			unauthenticated(w, "invalid or expired credential")
			return
		case err != nil:
			// Not the credential's fault: a 401 would make clients drop a
			// valid token, so say the server failed.
			log.Error("authentication failed", "request_id", requestID(r.Context()), "err", err)
			writeError(w, http.StatusInternalServerError, CodeInternal,
				"internal error (request "+requestID(r.Context())+")")
			return
		}
		next.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
	})
}

func unauthenticated(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="lightr"`)
	writeError(w, http.StatusUnauthorized, CodeUnauthenticated, msg)
}

// writeError answers with a GraphQL-shaped error outside gqlgen.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{
			"message":    msg,
			"extensions": map[string]any{"code": code},
		}},
	})
}

// limitBody caps request bodies: one announced as too large is refused
// with 413 before it is read; a chunked one is cut off at n bytes.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n > 0 && r.ContentLength > n {
			writeError(w, http.StatusRequestEntityTooLarge, CodeBadUserInput,
				"request body larger than "+strconv.FormatInt(n, 10)+" bytes")
			return
		}
		if n > 0 && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		next.ServeHTTP(w, r)
	})
}

// checkGETParams refuses a GET whose variables or extensions are not JSON
// objects, which gqlgen would answer without an error code.
func checkGETParams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range []string{"variables", "extensions"} {
			v := r.URL.Query().Get(p)
			var obj map[string]any
			if v != "" && json.Unmarshal([]byte(v), &obj) != nil {
				writeError(w, http.StatusBadRequest, CodeBadUserInput, p+" must be a JSON object")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests gives each request an id (kept from X-Request-Id when the
// client sent a sane one) and logs it at debug level.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || strings.ContainsAny(id, " \r\n\"") {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		start := time.Now()
		next.ServeHTTP(w, r.WithContext(withRequestID(r.Context(), id)))
		log.Debug("http request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"remote_ip", r.RemoteAddr, "duration", time.Since(start))
	})
}
