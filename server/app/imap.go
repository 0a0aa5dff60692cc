package app

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/imap"
)

// startIMAP listens on imap.addr (STARTTLS) and, when set, imap.tls_addr
// (implicit TLS), and serves IMAP in the background. The returned
// function closes both and every session.
func (a *App) startIMAP(m *mailServices) (stop func(), addr, tlsAddr string, err error) {
	c := a.Config
	trusted, err := parsePrefixes("imap.trusted_networks", c.IMAP.TrustedNetworks)
	if err != nil {
		return nil, "", "", err
	}
	srv := imap.New(imap.Options{
		TLS:                      m.Certs.TLSConfig(),
		AllowInsecureAuth:        c.IMAP.AllowInsecureAuth,
		MaxMessageBytes:          c.SMTP.MaxMessageBytes,
		MaxConnections:           c.IMAP.MaxConnections,
		MaxConnectionsPerIP:      c.IMAP.MaxConnectionsPerIP,
		MaxConnectionsPerAccount: c.IMAP.MaxConnectionsPerAccount,
		IdleTimeout:              c.IMAP.IdleTimeout,
		MaxCommandBytes:          c.IMAP.MaxCommandBytes,
		MaxLoginFailures:         c.IMAP.MaxLoginFailures,
		LoginFailureWindow:       c.IMAP.LoginFailureWindow,
		Trusted:                  trusted,
		Log:                      a.Log,
	}, a.DB, store.New(), a.Notify)

	ln, err := net.Listen("tcp", c.IMAP.Addr)
	if err != nil {
		return nil, "", "", fmt.Errorf("listen on imap.addr %s: %w", c.IMAP.Addr, err)
	}
	var tln net.Listener
	if c.IMAP.TLSAddr != "" {
		if tln, err = net.Listen("tcp", c.IMAP.TLSAddr); err != nil {
			_ = ln.Close()
			return nil, "", "", fmt.Errorf("listen on imap.tls_addr %s: %w", c.IMAP.TLSAddr, err)
		}
		tlsAddr = tln.Addr().String()
		go a.serveIMAP("imaps", func() error { return srv.ServeTLS(tln) })
		a.Log.Info("imaps listening", "addr", tlsAddr)
	}
	go a.serveIMAP("imap", func() error { return srv.Serve(ln) })
	a.Log.Info("imap listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, ln.Addr().String(), tlsAddr, nil
}

func (a *App) serveIMAP(name string, serve func() error) {
	if err := serve(); err != nil {
		a.Log.Error(name+" server stopped", "err", err)
	}
}

// parsePrefixes parses a list of CIDR networks from configuration key.
func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, n := range list {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
