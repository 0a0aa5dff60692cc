package imap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/db"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// Options configure a Server. Zero limits take the defaults of
// server/config.
type Options struct {
	// TLS enables STARTTLS on Serve and is the configuration of ServeTLS;
	// nil leaves STARTTLS out.
	TLS *tls.Config
	// AllowInsecureAuth lets clients log in before TLS. For development
	// on loopback only: passwords then cross the network in clear.
	AllowInsecureAuth bool
	// MaxMessageBytes is the APPENDLIMIT (RFC 7889).
	MaxMessageBytes int64
	// MaxConnections and MaxConnectionsPerIP bound open connections;
	// MaxConnectionsPerAccount bounds logged-in sessions of one account.
	MaxConnections, MaxConnectionsPerIP, MaxConnectionsPerAccount int
	// IdleTimeout is the longest a connection may stay silent, IDLE
	// included (RFC 9051 §5.4 asks for at least 30 minutes).
	IdleTimeout time.Duration
	// MaxCommandBytes bounds a command, its literals not counted: a longer
	// one ends the connection with BYE. go-imap's own limit, 50 KiB,
	// applies above it.
	MaxCommandBytes int
	// MaxLoginFailures failed logins within LoginFailureWindow, from one
	// client address or against one account, block further logins from
	// there or to it until the window has passed.
	MaxLoginFailures   int
	LoginFailureWindow time.Duration
	// Trusted lists networks exempt from the per-IP limits.
	Trusted netlimit.Networks
	// Parse bounds the parsing work spent on one appended message.
	Parse message.Limits
	// Log receives one line per connection and per login.
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
	def(&o.MaxConnections, 2000)
	def(&o.MaxConnectionsPerIP, 50)
	def(&o.MaxConnectionsPerAccount, 20)
	def(&o.MaxLoginFailures, 10)
	def(&o.MaxCommandBytes, 50<<10)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.LoginFailureWindow <= 0 {
		o.LoginFailureWindow = 15 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Server is the IMAP server.
type Server struct {
	opts      Options
	db        *db.DB
	store     *store.Store
	hub       *notify.Hub
	passwords *access.Passwords
	imap      *imapserver.Server
	log       *slog.Logger
	failures  *netlimit.Throttle
	parts     *partCache // decoded envelopes and structures, for FETCH
	ids       *netlimit.IDs

	mu       sync.Mutex
	sessions map[pulid.ID]int // logged-in sessions per account
}

// New returns a Server over d, reading raw messages through st and waking
// sessions through hub when mailboxes change.
func New(o Options, d *db.DB, st *store.Store, hub *notify.Hub) *Server {
	o.setDefaults()
	s := &Server{
		opts:      o,
		db:        d,
		store:     st,
		hub:       hub,
		passwords: &access.Passwords{Client: d.Client},
		log:       o.Log.With("component", "imap"),
		failures:  netlimit.NewThrottle(o.MaxLoginFailures, o.LoginFailureWindow),
		parts:     newPartCache(partCacheBytes),
		ids:       netlimit.NewIDs(),
		sessions:  map[pulid.ID]int{},
	}
	// TLS is done below go-imap, by clientConn, which also refuses logins
	// without it (with session.Login); go-imap would not know the TLS
	// under clientConn for what it is.
	s.imap = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         capabilities(),
		Logger:       libraryLogger{s.log},
		InsecureAuth: true,
	})
	return s
}

// capabilities are the extensions Lightr implements beyond what go-imap
// always announces (SASL-IR, LITERAL-, ENABLE, IDLE, UNSELECT, UTF8=ACCEPT).
// clientConn adds ID, STARTTLS and LOGINDISABLED.
func capabilities() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
		imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapMove: {},
		imap.CapESearch: {}, imap.CapSearchRes: {},
		imap.CapListExtended: {}, imap.CapListStatus: {}, imap.CapStatusSize: {},
		imap.CapSpecialUse: {}, imap.CapCreateSpecialUse: {},
		imap.CapLiteralPlus: {}, imap.CapBinary: {}, imap.CapChildren: {},
	}
}

// Serve accepts IMAP connections on l (with STARTTLS when Options.TLS is
// set) until Close.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(clientListener{Listener: coalescingListener{s.limit(l)},
		tls: s.opts.TLS, insecureAuth: s.opts.AllowInsecureAuth, maxCommand: s.opts.MaxCommandBytes, log: s.log})
}

// ServeTLS accepts connections on l that start with TLS (port 993 style,
// RFC 8314).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("imap: ServeTLS without a TLS configuration")
	}
	return s.serve(clientListener{Listener: tls.NewListener(coalescingListener{s.limit(l)}, s.opts.TLS),
		secure: true, insecureAuth: s.opts.AllowInsecureAuth, maxCommand: s.opts.MaxCommandBytes, log: s.log})
}

func (s *Server) serve(l net.Listener) error {
	err := s.imap.Serve(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// limit wraps l with the connection limits. A refused client gets an
// untagged BYE (RFC 9051 §7.1.5) instead of the greeting.
func (s *Server) limit(l net.Listener) net.Listener {
	return netlimit.New(l, netlimit.Options{
		Max:     s.opts.MaxConnections,
		PerIP:   s.opts.MaxConnectionsPerIP,
		Trusted: s.opts.Trusted.Contains,
		MaxIdle: s.opts.IdleTimeout,
		Refuse: func(c net.Conn, reason string) {
			_, _ = c.Write([]byte("* BYE [UNAVAILABLE] " + reason + "\r\n"))
		},
		Refused: func(ip netip.Addr, reason string) {
			s.log.Warn("connection refused", "remote_ip", ip.String(), "reason", reason)
		},
	})
}

// Close closes the listeners and every connection.
func (s *Server) Close() error {
	return s.imap.Close()
}

// claim counts a logged-in session of account, unless it has the most
// allowed already.
func (s *Server) claim(account pulid.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[account] >= s.opts.MaxConnectionsPerAccount {
		return false
	}
	s.sessions[account]++
	return true
}

func (s *Server) release(account pulid.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[account]--; s.sessions[account] <= 0 {
		delete(s.sessions, account)
	}
}

// libraryLogger adapts slog to go-imap's Logger, which it uses for
// unexpected errors and panics in its own code.
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Printf(format string, v ...any) {
	l.log.Warn("imap library: " + fmt.Sprintf(format, v...))
}
