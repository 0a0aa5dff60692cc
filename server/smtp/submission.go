package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// SubmissionOptions configure a Submission server. Zero limits take the
// defaults of server/config.
type SubmissionOptions struct {
	// Hostname is announced in the greeting, in Received fields and in
	// the Message-IDs the server adds.
	Hostname string
	// TLS serves STARTTLS on Serve and implicit TLS on ServeTLS. Without
	// it no client can authenticate, unless AllowInsecureAuth is set.
	TLS *tls.Config
	// AllowInsecureAuth lets clients authenticate over plain TCP; for
	// development on loopback only.
	AllowInsecureAuth bool
	// MaxMessageBytes is the SIZE limit (RFC 1870).
	MaxMessageBytes int64
	// MaxRecipients is the most RCPT TO accepted per message.
	MaxRecipients int
	// MaxLineLength is the longest command line accepted.
	MaxLineLength int
	// ReadTimeout and WriteTimeout bound each read and write.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConnections and MaxConnectionsPerIP bound concurrent sessions,
	// per listener.
	MaxConnections, MaxConnectionsPerIP int
	// MaxErrors is how many rejected commands a session may have before
	// the server answers 421 and closes it.
	MaxErrors int
	// MaxAuthFailures failed AUTHs from one client address, or for one
	// account, within AuthFailureWindow block further tries (454 4.7.0).
	MaxAuthFailures   int
	AuthFailureWindow time.Duration
	// AuthFailureDelay is how long a failed AUTH waits before its answer;
	// zero means one second, negative none (tests).
	AuthFailureDelay time.Duration
	// Trusted lists networks whose clients are not limited per address,
	// neither in connections nor in failed AUTHs.
	Trusted netlimit.Networks
	// Parse bounds the parsing work spent on one message.
	Parse message.Limits
	// Log receives one line per connection, AUTH and message.
	Log *slog.Logger
}

func (o *SubmissionOptions) setDefaults() {
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
	def(&o.MaxConnections, 500)
	def(&o.MaxConnectionsPerIP, 20)
	def(&o.MaxErrors, 10)
	def(&o.MaxAuthFailures, 10)
	if o.AuthFailureWindow <= 0 {
		o.AuthFailureWindow = 15 * time.Minute
	}
	if o.AuthFailureDelay == 0 {
		o.AuthFailureDelay = time.Second
	}
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

// SubmissionBackend is what a Submission server works with.
type SubmissionBackend struct {
	// Client reads the directory and queues messages.
	Client *ent.Client
	// Store saves the raw messages.
	Store *store.Store
	// Passwords checks account passwords, Keys API keys.
	Passwords *access.Passwords
	Keys      *access.Authenticator
	// Wake, when set, is called after a message was queued, to start its
	// delivery now rather than at the workers' next poll.
	Wake func()
	// Notify hears of the message.queued events of each queued message,
	// after its commit; nil tells no one.
	Notify *notify.Hub
}

// Submission is the message submission server (RFC 6409) where accounts
// and applications hand Lightr their outgoing mail: only after AUTH, only
// over TLS, only from their own addresses, and answered 250 only once
// the message is queued in the database (package mail/outbox).
type Submission struct {
	opts     SubmissionOptions
	be       SubmissionBackend
	smtp     *gosmtp.Server
	log      *slog.Logger
	ids      *netlimit.IDs
	failures *netlimit.Throttle
}

// NewSubmission returns a Submission server over b.
func NewSubmission(o SubmissionOptions, b SubmissionBackend) *Submission {
	o.setDefaults()
	if b.Wake == nil {
		b.Wake = func() {}
	}
	s := &Submission{
		opts:     o,
		be:       b,
		log:      o.Log.With("component", "submission"),
		ids:      netlimit.NewIDs(),
		failures: netlimit.NewThrottle(o.MaxAuthFailures, o.AuthFailureWindow),
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
	// go-smtp would answer AUTH before TLS with 523 5.7.10 and hide it
	// from EHLO; the session decides instead, so that the answer is RFC
	// 4954's 538 5.7.11 (see subSession.Auth).
	gs.AllowInsecureAuth = true
	gs.ErrorLog = slogPrinter{s.log}
	s.smtp = gs
	return s
}

// Serve accepts connections on l, which offers STARTTLS (port 587), until
// Shutdown or Close.
func (s *Submission) Serve(l net.Listener) error {
	return s.serve(s.limit(l))
}

// ServeTLS accepts connections on l, which speaks TLS from the first byte
// (port 465, RFC 8314 §3.3), until Shutdown or Close.
func (s *Submission) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("smtp: implicit TLS needs a TLS configuration")
	}
	return s.serve(tls.NewListener(s.limit(l), s.opts.TLS))
}

func (s *Submission) serve(l net.Listener) error {
	err := s.smtp.Serve(l)
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

// limit bounds l's connections, in total and per client address.
func (s *Submission) limit(l net.Listener) net.Listener {
	return netlimit.New(l, netlimit.Options{
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
}

// Shutdown stops accepting connections and waits for open sessions to end
// or ctx to expire, whichever comes first.
func (s *Submission) Shutdown(ctx context.Context) error {
	return s.smtp.Shutdown(ctx)
}

// Close closes the listeners and every connection at once.
func (s *Submission) Close() error {
	return s.smtp.Close()
}
