package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// SubmissionOptions configure a Submission server. Zero limits take the
// defaults of server/config.
type SubmissionOptions struct {
	// Options are the listener's settings, as for the MX: Hostname is
	// also the domain of the Message-IDs the server adds; TLS serves
	// STARTTLS on Serve and implicit TLS on ServeTLS (without it no client
	// can authenticate, unless AllowInsecureAuth is set); Trusted clients
	// are limited neither in connections nor in failed AUTHs.
	Options
	// AllowInsecureAuth lets clients authenticate over plain TCP; for
	// development on loopback only.
	AllowInsecureAuth bool
	// MaxAuthFailures failed AUTHs from one client address, or for one
	// account, within AuthFailureWindow block further tries (454 4.7.0).
	MaxAuthFailures   int
	AuthFailureWindow time.Duration
	// AuthFailureDelay is how long a failed AUTH waits before its answer;
	// zero means one second, negative none (tests).
	AuthFailureDelay time.Duration
}

func (o *SubmissionOptions) setDefaults() {
	o.Options.setDefaults(500)
	if o.MaxAuthFailures <= 0 {
		o.MaxAuthFailures = 10
	}
	if o.AuthFailureWindow <= 0 {
		o.AuthFailureWindow = 15 * time.Minute
	}
	if o.AuthFailureDelay == 0 {
		o.AuthFailureDelay = time.Second
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
	// Domains reads the sending domains, to sign each message before the
	// transaction that queues it; nil means a cache of the server's own.
	Domains *outbox.DomainCache
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
	if b.Domains == nil {
		b.Domains = outbox.NewDomainCache(b.Client, 0)
	}
	s := &Submission{
		opts:     o,
		be:       b,
		log:      o.Log.With("component", "submission"),
		ids:      netlimit.NewIDs(),
		failures: netlimit.NewThrottle(o.MaxAuthFailures, o.AuthFailureWindow),
	}
	gs := o.newGoSMTP(gosmtp.BackendFunc(s.newSession), s.log)
	// go-smtp would answer AUTH before TLS with 523 5.7.10 and hide it
	// from EHLO; the session decides instead, so that the answer is RFC
	// 4954's 538 5.7.11 (see subSession.Auth).
	gs.AllowInsecureAuth = true
	s.smtp = gs
	return s
}

// Serve accepts connections on l, which offers STARTTLS (port 587), until
// Shutdown or Close.
func (s *Submission) Serve(l net.Listener) error {
	return serve(s.smtp, s.opts.limit(l, s.log))
}

// ServeTLS accepts connections on l, which speaks TLS from the first byte
// (port 465, RFC 8314 §3.3), until Shutdown or Close.
func (s *Submission) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("smtp: implicit TLS needs a TLS configuration")
	}
	return serve(s.smtp, tls.NewListener(s.opts.limit(l, s.log), s.opts.TLS))
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
