package app

import (
	"context"
	"fmt"
	"net"

	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/mail/verify"
	"github.com/lightr-mail/lightr/server/certs"
	"github.com/lightr-mail/lightr/server/smtp"
)

// mailServices are the parts of the mail pipeline that outlive one
// listener: the DNS resolver, the sender verifier and the deliverer.
type mailServices struct {
	Resolver  *resolver.Resolver
	Verifier  *verify.Verifier
	Deliverer *delivery.Deliverer
	Certs     *certs.Store
	// Store saves raw messages, inbound and outbound.
	Store *store.Store
	// Wake tells the outbound workers that mail was queued, so that they
	// claim it now rather than at their next poll. Call it after the
	// transaction that queued the mail committed. Never nil.
	Wake func()
	// Tracking signs the open and click links of tracked mail.
	Tracking *tracking
	// Domains has the sending domains' keys and tracking defaults, for
	// signing as mail is queued and as it is sent.
	Domains *outbox.DomainCache
}

// openMail builds the mail pipeline from the configuration.
func (a *App) openMail() (*mailServices, error) {
	c := a.Config
	res, err := resolver.New(resolver.Options{Server: c.DNS.Resolver, Timeout: c.DNS.Timeout})
	if err != nil {
		return nil, fmt.Errorf("dns resolver: %w", err)
	}
	if err := ensureCertificate(c); err != nil {
		return nil, err
	}
	cs, err := certs.New(a.DB.Client, c.TLSCertPath(), c.TLSKeyPath())
	if err != nil {
		return nil, fmt.Errorf("smtp TLS certificate (smtp.tls_cert_file): %w", err)
	}
	// Copies wake their mailboxes' watchers once their batch committed.
	opts := delivery.Options{OnCommit: publishDelivered(a.Notify)}
	tr, err := a.openTracking()
	if err != nil {
		return nil, err
	}
	st := store.New()
	return &mailServices{
		Resolver:  res,
		Verifier:  &verify.Verifier{Resolver: res, AuthServID: c.SMTP.Domain},
		Deliverer: delivery.New(a.DB, st, opts),
		Certs:     cs,
		Store:     st,
		Wake:      func() {},
		Tracking:  tr,
		Domains:   outbox.NewDomainCache(a.DB.Client, 0),
	}, nil
}

// startSMTP listens on smtp.addr and serves the MX in the background.
// The returned function shuts it down.
func (a *App) startSMTP(m *mailServices) (stop func(context.Context) error, addr string, err error) {
	c := a.Config
	trusted, err := parsePrefixes("smtp.trusted_networks", c.SMTP.TrustedNetworks)
	if err != nil {
		return nil, "", err
	}
	srv := smtp.New(smtp.Options{
		Hostname:            c.SMTP.Domain,
		TLS:                 m.Certs.TLSConfig(),
		MaxMessageBytes:     c.SMTP.MaxMessageBytes,
		MaxRecipients:       c.SMTP.MaxRecipients,
		MaxLineLength:       c.SMTP.MaxLineLength,
		ReadTimeout:         c.SMTP.ReadTimeout,
		WriteTimeout:        c.SMTP.WriteTimeout,
		MaxConnections:      c.SMTP.MaxConnections,
		MaxConnectionsPerIP: c.SMTP.MaxConnectionsPerIP,
		MaxErrors:           c.SMTP.MaxErrors,
		Trusted:             trusted,
		Log:                 a.Log,
	}, a.DB.Client, m.Deliverer, m.Verifier)
	ln, err := net.Listen("tcp", c.SMTP.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on smtp.addr %s: %w", c.SMTP.Addr, err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			a.Log.Error("smtp server stopped", "err", err)
		}
	}()
	a.Log.Info("smtp listening", "addr", ln.Addr().String())
	stop = func(ctx context.Context) error {
		// Sessions in flight get until ctx ends; go-smtp then returns
		// with them still open, so close them, or an idle client would
		// hold the process up.
		err := srv.Shutdown(ctx)
		if err != nil {
			_ = srv.Close()
		}
		return err
	}
	return stop, ln.Addr().String(), nil
}
