package smtp

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/server/netlimit"
)

// The listener plumbing the MX (Server) and message submission
// (Submission) share: both are configured by Options, which
// SubmissionOptions embeds.

// setDefaults fills in o's zero limits, with defConns as the default of
// MaxConnections.
func (o *Options) setDefaults(defConns int) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 25 << 20
	}
	def(&o.MaxRecipients, 100)
	def(&o.MaxLineLength, 2000)
	def(&o.MaxConnections, defConns)
	def(&o.MaxConnectionsPerIP, 20)
	def(&o.MaxErrors, 10)
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// newGoSMTP returns a go-smtp server for be with o's limits, logging its
// internal errors to log.
func (o *Options) newGoSMTP(be gosmtp.Backend, log *slog.Logger) *gosmtp.Server {
	gs := gosmtp.NewServer(be)
	gs.Domain = o.Hostname
	gs.TLSConfig = o.TLS
	gs.MaxMessageBytes = o.MaxMessageBytes
	gs.MaxRecipients = o.MaxRecipients
	gs.MaxLineLength = o.MaxLineLength
	gs.ReadTimeout = o.ReadTimeout
	gs.WriteTimeout = o.WriteTimeout
	gs.EnableSMTPUTF8 = true
	gs.ErrorLog = slogPrinter{log}
	return gs
}

// limit bounds the connections of l, in total and per client address.
func (o *Options) limit(l net.Listener, log *slog.Logger) net.Listener {
	return netlimit.New(l, netlimit.Options{
		Max:     o.MaxConnections,
		PerIP:   o.MaxConnectionsPerIP,
		Trusted: o.Trusted.Contains,
		// RFC 5321 §3.8: a server that cannot take the session says 421.
		Refuse: func(c net.Conn, reason string) {
			_, _ = c.Write([]byte("421 4.7.0 " + o.Hostname + " " + reason + "\r\n"))
		},
		Refused: func(ip netip.Addr, reason string) {
			log.Warn("connection refused", "remote_ip", ip.String(), "reason", reason)
		},
	})
}

// serve runs gs on l until it is shut down, which is no error.
func serve(gs *gosmtp.Server, l net.Listener) error {
	err := gs.Serve(l)
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}
