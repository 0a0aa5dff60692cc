package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/httpapi"
)

// Paths the two servers answer on.
const (
	graphQLPath = "/graphql"
	plainPath   = "/api/messages"
)

// bench is an opened Lightr with seeded data and both servers running on
// loopback.
type bench struct {
	app   *app.App
	org   pulid.ID // the organization whose token the clients use
	token string   // a read-only tenant JWT for org

	graphQL http.Handler // exactly what app.Serve serves
	plain   http.Handler

	graphQLURL string
	plainURL   string
	servers    []*http.Server
}

// setup opens a fresh Lightr in dir the way servertest does, seeds two
// organizations with n messages each, and starts both servers.
func setup(ctx context.Context, dir string, n int, log *slog.Logger) (*bench, error) {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Log.Level = "warn"
	if err := os.MkdirAll(cfg.KeysDir(), 0o700); err != nil {
		return nil, err
	}
	if err := auth.GenerateKeyFile(cfg.JWTKeyPath()); err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	b := &bench{app: a}
	if err := b.seed(ctx, n); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := b.start(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// seed creates the measured organization and a second one with as many
// messages, so that the tenant filter has rows to filter out, and issues
// the token.
func (b *bench) seed(ctx context.Context, n int) error {
	ctx = viewer.AdminContext(ctx)
	c := b.app.DB.Client
	var inboxes []*mailboxRef
	for _, t := range []struct{ org, domain, local string }{
		{"Bench", "bench.test", "alice"},
		{"Other", "other.test", "bob"},
	} {
		ref, err := createTenant(ctx, c, t.org, t.domain, t.local)
		if err != nil {
			return err
		}
		inboxes = append(inboxes, ref)
	}
	if err := seedMessages(ctx, c, inboxes, n); err != nil {
		return err
	}

	b.org = inboxes[0].org
	tok, err := b.app.Auth.IssueToken(ctx, b.org, []string{string(viewer.ScopeRead)}, 4*time.Hour)
	if err != nil {
		return err
	}
	b.token = tok.Token
	return nil
}

// mailboxRef names an account's INBOX and whom it belongs to.
type mailboxRef struct {
	org, account, id pulid.ID
	email            string
}

// createTenant adds an organization with one domain and one account
// (which gets the standard mailboxes) and returns the account's INBOX.
func createTenant(ctx context.Context, c *ent.Client, org, domain, local string) (*mailboxRef, error) {
	o, err := c.Organization.Create().SetName(org).Save(ctx)
	if err != nil {
		return nil, err
	}
	d, err := directory.CreateDomain(ctx, c, &o.ID, ent.CreateDomainInput{Name: domain})
	if err != nil {
		return nil, err
	}
	acc, _, err := directory.CreateAccount(ctx, c, ent.CreateAccountInput{
		LocalPart: local, DomainID: d.ID,
	}, "")
	if err != nil {
		return nil, err
	}
	inbox, err := c.Mailbox.Query().
		Where(mailbox.AccountID(acc.ID), mailbox.Name("INBOX")).
		Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("find INBOX of %s: %w", acc.Email, err)
	}
	return &mailboxRef{org: o.ID, account: acc.ID, id: inbox.ID, email: acc.Email}, nil
}

// start serves the GraphQL handler, built with the options app.Serve uses,
// and the plain handler, each on its own loopback port.
func (b *bench) start() error {
	a := b.app
	c := a.Config
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(
		collectors.ProcessCollectorOpts{}))
	b.graphQL = httpapi.Handler(httpapi.Options{
		Client:        a.DB.Client,
		Auth:          a.Auth,
		Ready:         a.DB.Ping,
		Log:           a.Log.With("component", "http"),
		Registry:      reg,
		GraphiQL:      c.HTTP.GraphiQL,
		Introspection: c.HTTP.Introspection,
		MaxDepth:      c.HTTP.MaxDepth,
		MaxComplexity: c.HTTP.MaxComplexity,
		MaxPageSize:   c.HTTP.MaxPageSize,
		PageSize:      c.HTTP.DefaultPageSize,
		MaxBodyBytes:  c.HTTP.MaxBodyBytes,
	})
	mux := http.NewServeMux()
	mux.Handle("GET "+plainPath, &plainHandler{
		auth: a.Auth, db: a.DB.Driver.Reader(), maxPage: c.HTTP.MaxPageSize,
	})
	b.plain = mux

	base, err := b.serve(b.graphQL)
	if err != nil {
		return err
	}
	b.graphQLURL = base + graphQLPath
	if base, err = b.serve(b.plain); err != nil {
		return err
	}
	b.plainURL = base + plainPath + "?mailbox=INBOX&first=50"
	return nil
}

// serve runs h on an ephemeral loopback port with app.Serve's server
// settings and returns its base URL.
func (b *bench) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	c := b.app.Config.HTTP
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	b.servers = append(b.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.app.Log.Error("bench server stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the servers and closes the database.
func (b *bench) Close() {
	for _, s := range b.servers {
		_ = s.Close()
	}
	_ = b.app.Close()
}
