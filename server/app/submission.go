package app

import (
	"context"
	"fmt"
	"net"

	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/smtp"
)

// startSubmission listens on submission.addr (STARTTLS) and, when set,
// submission.tls_addr (implicit TLS), and serves message submission in
// the background. Either address may be empty to turn that listener off.
// The returned function shuts both down.
func (a *App) startSubmission(m *mailServices) (stop func(context.Context) error, addr, tlsAddr string,
	err error) {
	c := a.Config.Submission
	trusted, err := parsePrefixes("submission.trusted_networks", c.TrustedNetworks)
	if err != nil {
		return nil, "", "", err
	}
	srv := smtp.NewSubmission(smtp.SubmissionOptions{
		Options: smtp.Options{
			Hostname:            a.Config.SMTP.Domain,
			TLS:                 m.Certs.TLSConfig(),
			MaxMessageBytes:     c.MaxMessageBytes,
			MaxRecipients:       c.MaxRecipients,
			MaxLineLength:       a.Config.SMTP.MaxLineLength,
			ReadTimeout:         c.ReadTimeout,
			WriteTimeout:        a.Config.SMTP.WriteTimeout,
			MaxConnections:      c.MaxConnections,
			MaxConnectionsPerIP: c.MaxConnectionsPerIP,
			Trusted:             trusted,
			Log:                 a.Log,
		},
		AllowInsecureAuth: c.AllowInsecureAuth,
		MaxAuthFailures:   c.MaxAuthFailures,
		AuthFailureWindow: c.AuthFailureWindow,
	}, smtp.SubmissionBackend{
		Client:    a.DB.Client,
		Store:     m.Store,
		Passwords: &access.Passwords{Client: a.DB.Client},
		Keys:      a.Auth,
		// Read at each call: the outbound workers may install it later.
		Wake:    func() { m.Wake() },
		Notify:  a.Notify,
		Domains: m.Domains,
	})

	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}
	listen := func(key, hostport string) (net.Listener, error) {
		l, err := net.Listen("tcp", hostport)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen on %s %s: %w", key, hostport, err)
		}
		lns = append(lns, l)
		return l, nil
	}
	var ln, tln net.Listener
	if c.Addr != "" {
		if ln, err = listen("submission.addr", c.Addr); err != nil {
			return nil, "", "", err
		}
		addr = ln.Addr().String()
	}
	if c.TLSAddr != "" {
		if tln, err = listen("submission.tls_addr", c.TLSAddr); err != nil {
			return nil, "", "", err
		}
		tlsAddr = tln.Addr().String()
	}

	if ln != nil {
		go a.serveSubmission("submission", func() error { return srv.Serve(ln) })
		a.Log.Info("submission listening", "addr", addr)
	}
	if tln != nil {
		go a.serveSubmission("submissions", func() error { return srv.ServeTLS(tln) })
		a.Log.Info("submissions listening", "addr", tlsAddr)
	}
	stop = func(ctx context.Context) error {
		// As for the MX: sessions in flight get until ctx ends, then
		// whatever is left is closed.
		err := srv.Shutdown(ctx)
		if err != nil {
			_ = srv.Close()
		}
		return err
	}
	return stop, addr, tlsAddr, nil
}

func (a *App) serveSubmission(name string, serve func() error) {
	if err := serve(); err != nil {
		a.Log.Error(name+" server stopped", "err", err)
	}
}
