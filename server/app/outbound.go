package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/jobs/sender"
	"github.com/lightr-mail/lightr/mail/outbound"
)

// startOutbound starts the outbound workers and points m.Wake at them.
// The returned function stops them, giving deliveries in flight their
// grace period, and returns once they have.
func (a *App) startOutbound(m *mailServices) (stop func(), err error) {
	o, err := a.senderOptions(m)
	if err != nil {
		return nil, err
	}
	s, err := sender.New(a.DB.Client, m.Store, o)
	if err != nil {
		return nil, err
	}
	m.Wake = s.Wake
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	a.Log.Info("outbound workers started", "workers", o.Workers, "per_domain", o.PerDomain,
		"smarthost", a.Config.Outbound.Smarthost.Host != "")
	return func() {
		cancel()
		<-done
		o.Remote.Close()
		if o.Smarthost != nil {
			o.Smarthost.Close()
		}
	}, nil
}

// senderOptions builds the workers' options and SMTP clients from the
// outbound section of the configuration.
func (a *App) senderOptions(m *mailServices) (sender.Options, error) {
	c := a.Config.Outbound
	var roots *x509.CertPool
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return sender.Options{}, fmt.Errorf("outbound.ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return sender.Options{}, fmt.Errorf("outbound.ca_file %s: no PEM certificate", c.CAFile)
		}
	}
	helo := c.HeloName
	if helo == "" {
		helo = a.Config.SMTP.Domain
	}
	base := outbound.Options{
		Resolver:       m.Resolver,
		HeloName:       helo,
		MXPort:         c.MXPort,
		ConnectTimeout: c.ConnectTimeout,
		CommandTimeout: c.CommandTimeout,
		DataTimeout:    c.DataTimeout,
		TLS:            tlsPolicy(c.TLS),
		RootCAs:        roots,
		CacheIdle:      c.ConnectionCache,
		Logger:         a.Log.With("component", "outbound"),
	}
	if c.ConnectionCache <= 0 {
		base.CacheIdle = -1
	}
	remote, err := outbound.New(base)
	if err != nil {
		return sender.Options{}, fmt.Errorf("outbound: %w", err)
	}
	o := sender.Options{
		Workers:      c.Workers,
		PerDomain:    c.MaxPerDomain,
		Lease:        c.Lease,
		PollInterval: c.PollInterval,
		Policy:       queue.Policy{Schedule: queue.Schedule(c.RetrySchedule), MaxAge: c.MaxAge},
		Remote:       remote,
		Local:        m.Deliverer,
		Domains:      m.Domains,
		Tracking:     m.Tracking.senderOptions(a.Config.Tracking.PerRecipientLimit),
		Hostname:     a.Config.SMTP.Domain,
		Node:         c.NodeName,
		Notify:       a.Notify,
		Log:          a.Log,
	}
	if sh := c.Smarthost; sh.Host != "" {
		opts := base
		opts.Smarthost = &outbound.Smarthost{
			Host:     sh.Host,
			Port:     sh.Port,
			Username: sh.Username,
			Password: sh.Password,
			TLS:      smarthostTLS(sh.TLS),
		}
		if o.Smarthost, err = outbound.New(opts); err != nil {
			return sender.Options{}, fmt.Errorf("outbound.smarthost: %w", err)
		}
		if len(sh.Domains) > 0 {
			domains := make([]string, len(sh.Domains))
			for i, d := range sh.Domains {
				domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
			}
			o.UseSmarthost = func(d string) bool { return slices.Contains(domains, d) }
		}
	}
	return o, nil
}

func tlsPolicy(name string) outbound.TLSPolicy {
	switch name {
	case "require":
		return outbound.TLSRequire
	case "require_verified":
		return outbound.TLSRequireVerified
	}
	return outbound.TLSOpportunistic
}

func smarthostTLS(name string) outbound.SmarthostTLS {
	switch name {
	case "tls":
		return outbound.SmarthostImplicitTLS
	case "none":
		return outbound.SmarthostNoTLS
	}
	return outbound.SmarthostSTARTTLS
}
