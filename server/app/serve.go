package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lightr-mail/lightr/server/httpapi"
)

// Addrs are the addresses the listeners bound, for tests and the demo;
// IMAPS, Submission and SubmissionTLS are empty when their listener is
// not configured.
type Addrs struct {
	HTTP, SMTP, IMAP, IMAPS   string
	Submission, SubmissionTLS string
}

// Serve runs the listeners until ctx ends, then shuts them down, letting
// in-flight requests and SMTP sessions finish within their shutdown
// timeouts. ready, if not nil, is called with the bound addresses once
// every listener accepts connections.
func (a *App) Serve(ctx context.Context, ready func(Addrs)) error {
	c := a.Config
	mail, err := a.openMail()
	if err != nil {
		return err
	}
	defer func() { _ = mail.Deliverer.Close() }()
	// The workers stop before the deliverer they use for local mail.
	stopOutbound, err := a.startOutbound(mail)
	if err != nil {
		return err
	}
	defer stopOutbound()
	wakeWebhooks, stopWebhooks := a.startWebhooks()
	defer stopWebhooks()
	stopSMTP, smtpAddr, err := a.startSMTP(mail)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), c.SMTP.ShutdownTimeout)
		defer cancel()
		if err := stopSMTP(sctx); err != nil {
			a.Log.Warn("smtp shutdown", "err", err)
		}
	}()

	stopSub, subAddr, subsAddr, err := a.startSubmission(mail)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), c.SMTP.ShutdownTimeout)
		defer cancel()
		if err := stopSub(sctx); err != nil {
			a.Log.Warn("submission shutdown", "err", err)
		}
	}()

	stopIMAP, imapAddr, imapsAddr, err := a.startIMAP(mail)
	if err != nil {
		return err
	}
	defer stopIMAP()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(
		collectors.ProcessCollectorOpts{}))

	events := a.NewFeed()
	defer events.Close()
	h := httpapi.Handler(httpapi.Options{
		Client:        a.DB.Client,
		Auth:          a.Auth,
		Notify:        a.Notify,
		Wake:          mail.Wake,
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
		Tracking:      a.trackingHTTP(mail.Tracking),
		Feed:          events,
		Subscriptions: a.SubscriptionOptions(),
		Webhooks:      a.webhookPolicy(),
		Domains:       mail.Domains,
		WakeWebhooks:  wakeWebhooks,
	})
	ln, err := net.Listen("tcp", c.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on http.addr %s: %w", c.HTTP.Addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       c.HTTP.ReadTimeout,
		WriteTimeout:      c.HTTP.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Subscriptions end at shutdown, so SSE streams let it finish.
	srv.RegisterOnShutdown(events.Close)
	a.Log.Info("http listening", "addr", ln.Addr().String(),
		"graphql", "http://"+ln.Addr().String()+"/graphql")
	if ready != nil {
		ready(Addrs{HTTP: ln.Addr().String(), SMTP: smtpAddr, IMAP: imapAddr, IMAPS: imapsAddr,
			Submission: subAddr, SubmissionTLS: subsAddr})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	a.Log.Info("shutting down", "timeout", c.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Log.Info("stopped")
	return nil
}
