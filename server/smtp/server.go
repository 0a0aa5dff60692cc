package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/verify"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// Options configure a Server, and the part of a Submission server's
// configuration that is the same (SubmissionOptions embeds it). Zero
// limits take the defaults of server/config.
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
	// (and, on the MX, not rejected for DMARC).
	Trusted netlimit.Networks
	// Parse bounds the parsing work spent on one message.
	Parse message.Limits
	// Log receives one line per connection and per message.
	Log *slog.Logger
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
	o.setDefaults(1000)
	s := &Server{
		opts:      o,
		client:    client,
		deliverer: d,
		verifier:  v,
		log:       o.Log.With("component", "smtp"),
		ids:       netlimit.NewIDs(),
	}
	gs := o.newGoSMTP(gosmtp.BackendFunc(s.newSession), s.log)
	s.smtp = gs
	return s
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	return serve(s.smtp, s.opts.limit(l, s.log))
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
