package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/verify"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// Options configure a Server. Zero limits take the defaults of
// server/config.
type Options struct {
	// Hostname is announced in the greeting and in Received headers, and
	// is the authserv-id of Authentication-Results.
	Hostname string
	// TLS enables STARTTLS; nil leaves it out.
	TLS *tls.Config
	// MaxMessageBytes is the SIZE limit (RFC 1870).
	MaxMessageBytes int64
	// MaxRecipients is the most RCPT TO accepted per message.
	MaxRecipients int
	// MaxLineLength is the longest command line accepted.
	MaxLineLength int
	// ReadTimeout and WriteTimeout bound each read and write.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP bound concurrent sessions.
	MaxConnections, MaxConnectionsPerIP int
	// MaxErrors is how many rejected commands a session may have before
	// the server answers 421 and closes it.
	MaxErrors int
	// Trusted lists networks whose clients are not limited per address
	// and not rejected for DMARC.
	Trusted netlimit.Networks
	// Parse bounds the parsing work spent on one message.
	Parse message.Limits
	// Log receives one line per connection and per message.
	Log *slog.Logger
}

func (o *Options) setDefaults() {
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
	def(&o.MaxConnections, 1000)
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

// Server is the inbound SMTP server.
type Server struct {
	opts      Options
	client    *ent.Client
	deliverer *delivery.Deliverer
	verifier  *verify.Verifier
	smtp      *gosmtp.Server
	log       *slog.Logger
	ids       *netlimit.IDs
}

// New returns a Server that looks recipients up through client, verifies
// senders with v and stores messages with d.
func New(o Options, client *ent.Client, d *delivery.Deliverer, v *verify.Verifier) *Server {
	o.setDefaults()
	s := &Server{
		opts:      o,
		client:    client,
		deliverer: d,
		verifier:  v,
		log:       o.Log.With("component", "smtp"),
		ids:       netlimit.NewIDs(),
	}
	gs := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	gs.Domain = o.Hostname
	gs.TLSConfig = o.TLS
	gs.MaxMessageBytes = o.MaxMessageBytes
	gs.MaxRecipients = o.MaxRecipients
	gs.MaxLineLength = o.MaxLineLength
	gs.ReadTimeout = o.ReadTimeout
	gs.WriteTimeout = o.WriteTimeout
	gs.EnableSMTPUTF8 = true
	gs.ErrorLog = slogPrinter{s.log}
	s.smtp = gs
	return s
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	ll := netlimit.New(l, netlimit.Options{
		Max:     s.opts.MaxConnections,
		PerIP:   s.opts.MaxConnectionsPerIP,
		Trusted: s.opts.Trusted.Contains,
		// RFC 5321 §3.8: a server that cannot take the session says 421.
		Refuse: func(c net.Conn, reason string) {
			_, _ = c.Write([]byte("421 4.7.0 " + s.opts.Hostname + " " + reason + "\r\n"))
		},
		Refused: func(ip netip.Addr, reason string) {
			s.log.Warn("connection refused", "remote_ip", ip.String(), "reason", reason)
		},
	})
	err := s.smtp.Serve(ll)
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for open sessions to end
// or ctx to expire, whichever comes first.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.smtp.Shutdown(ctx)
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	return s.smtp.Close()
}

// slogPrinter adapts slog to go-smtp's Logger, which it uses only for
// unexpected internal errors and panics.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Error("smtp library: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Error("smtp library: " + fmt.Sprint(v...))
}
