package outbound

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/lightr-mail/lightr/mail/resolver"
)

// Defaults for Options. The timeouts are the minimums of RFC 5321
// §4.5.3.2, but for connecting, which the RFC leaves open.
const (
	DefaultMXPort         = 25
	DefaultConnectTimeout = 30 * time.Second
	DefaultCommandTimeout = 5 * time.Minute
	DefaultDataTimeout    = 10 * time.Minute
)

// maxAddresses bounds the addresses tried in one delivery, over all MX
// hosts, so that a domain listing dozens of unreachable hosts cannot hold a
// worker for hours.
const maxAddresses = 10

// ErrNoResolver is returned by New when Options.Resolver is nil and no
// smarthost is configured.
var ErrNoResolver = errors.New("outbound: a resolver is required")

// ErrInvalidArgument is returned by Deliver when the domain, the sender or
// the recipient list cannot be sent at all; nothing was attempted.
var ErrInvalidArgument = errors.New("outbound: invalid argument")

// TLSPolicy says when STARTTLS is required of a mail exchanger.
type TLSPolicy int

const (
	// TLSOpportunistic uses STARTTLS when it is offered and records, but
	// does not enforce, the certificate check (RFC 7435).
	TLSOpportunistic TLSPolicy = iota

	// TLSRequire defers delivery to a server that does not complete
	// STARTTLS; the certificate is still only recorded.
	TLSRequire

	// TLSRequireVerified also defers delivery when the certificate does not
	// verify for the MX host name.
	TLSRequireVerified
)

// String returns the policy's configuration name.
func (p TLSPolicy) String() string {
	switch p {
	case TLSOpportunistic:
		return "opportunistic"
	case TLSRequire:
		return "require"
	case TLSRequireVerified:
		return "require-verified"
	}
	return "TLSPolicy(" + strconv.Itoa(int(p)) + ")"
}

// SmarthostTLS is how a connection to a smarthost is secured.
type SmarthostTLS int

const (
	// SmarthostSTARTTLS requires STARTTLS (RFC 3207), port 587 by default.
	SmarthostSTARTTLS SmarthostTLS = iota

	// SmarthostImplicitTLS starts TLS before SMTP (RFC 8314 §3), port 465
	// by default.
	SmarthostImplicitTLS

	// SmarthostNoTLS sends everything, credentials included, in cleartext,
	// port 25 by default. It is meant for a relay on loopback or a private
	// network.
	SmarthostNoTLS
)

// String returns the mode's configuration name.
func (m SmarthostTLS) String() string {
	switch m {
	case SmarthostSTARTTLS:
		return "starttls"
	case SmarthostImplicitTLS:
		return "implicit"
	case SmarthostNoTLS:
		return "none"
	}
	return "SmarthostTLS(" + strconv.Itoa(int(m)) + ")"
}

// Smarthost is a relay that takes all outbound mail instead of the
// recipients' mail exchangers.
type Smarthost struct {
	// Host is a host name or an IP address. Its certificate must be valid
	// for it (against Options.RootCAs) unless TLS is SmarthostNoTLS.
	Host string

	// Port is the TCP port; zero means the default of the TLS mode.
	Port int

	// Username and Password, when Username is set, are sent with AUTH
	// PLAIN (RFC 4616) after TLS is established.
	Username string
	Password string

	// TLS is how the connection is secured.
	TLS SmarthostTLS
}

// port returns the port to connect to.
func (s *Smarthost) port() int {
	switch {
	case s.Port != 0:
		return s.Port
	case s.TLS == SmarthostImplicitTLS:
		return 465
	case s.TLS == SmarthostNoTLS:
		return 25
	}
	return 587
}

// LogValue implements slog.LogValuer: the password is never logged.
func (s Smarthost) LogValue() slog.Value {
	pw := ""
	if s.Password != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("host", net.JoinHostPort(s.Host, strconv.Itoa(s.port()))),
		slog.String("username", s.Username),
		slog.String("password", pw),
		slog.String("tls", s.TLS.String()),
	)
}

// Options configures a Client.
type Options struct {
	// Resolver looks up MX and address records. It is required unless a
	// Smarthost is set whose Host is an IP address.
	Resolver *resolver.Resolver

	// HeloName is the host name sent in EHLO; it should be the sending
	// host's fully qualified name with matching forward and reverse DNS.
	// Empty means "localhost", which many receivers penalize.
	HeloName string

	// MXPort is the port of mail exchangers, DefaultMXPort when zero. Only
	// tests change it, to reach a server on a loopback port.
	MXPort int

	// ConnectTimeout bounds each TCP connection attempt, CommandTimeout
	// every reply but the one to the final dot of DATA, and DataTimeout the
	// sending of the message and that final reply. Zero means the default.
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	DataTimeout    time.Duration

	// TLS is the policy for mail exchangers; a smarthost has its own.
	TLS TLSPolicy

	// RootCAs verifies certificates; nil means the system's roots.
	RootCAs *x509.CertPool

	// Smarthost, when set, takes every message instead of the MX hosts.
	Smarthost *Smarthost

	// CacheIdle is how long a connection that ended a transaction cleanly
	// is kept for the next message to the same address; zero means
	// DefaultCacheIdle and a negative value turns the cache off. MaxReuse
	// bounds the messages one connection carries (zero: DefaultMaxReuse)
	// and MaxConnLife its age (zero: DefaultMaxConnLife).
	CacheIdle   time.Duration
	MaxReuse    int
	MaxConnLife time.Duration

	// Logger receives a Debug line for every host that could not be used;
	// the outcome itself is returned, not logged. Nil discards. Message
	// bodies and passwords are never logged.
	Logger *slog.Logger
}

// LogValue implements slog.LogValuer, with the smarthost's password
// redacted.
func (o Options) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("helo_name", o.HeloName),
		slog.Int("mx_port", o.MXPort),
		slog.Duration("connect_timeout", o.ConnectTimeout),
		slog.Duration("command_timeout", o.CommandTimeout),
		slog.Duration("data_timeout", o.DataTimeout),
		slog.String("tls", o.TLS.String()),
	}
	if o.Smarthost != nil {
		attrs = append(attrs, slog.Any("smarthost", *o.Smarthost))
	}
	return slog.GroupValue(attrs...)
}

// Client delivers messages to remote domains. It is safe for concurrent
// use: every Deliver has a connection of its own, new or from the cache of
// connections that ended a transaction cleanly. Close empties the cache.
type Client struct {
	o      Options
	log    *slog.Logger
	dialer net.Dialer
	cache  *connCache
}

// Close closes the cached connections; Deliver still works afterwards,
// without the cache.
func (c *Client) Close() {
	c.cache.close()
}

// New returns a Client for o, with defaults filled in.
func New(o Options) (*Client, error) {
	if o.Smarthost != nil {
		sh := *o.Smarthost
		o.Smarthost = &sh
		if sh.Host == "" {
			return nil, fmt.Errorf("outbound: smarthost: no host")
		}
		if net.ParseIP(sh.Host) == nil && o.Resolver == nil {
			return nil, ErrNoResolver
		}
	} else if o.Resolver == nil {
		return nil, ErrNoResolver
	}
	if o.HeloName == "" {
		o.HeloName = "localhost"
	}
	if o.MXPort == 0 {
		o.MXPort = DefaultMXPort
	}
	o.ConnectTimeout = orDefault(o.ConnectTimeout, DefaultConnectTimeout)
	o.CommandTimeout = orDefault(o.CommandTimeout, DefaultCommandTimeout)
	o.DataTimeout = orDefault(o.DataTimeout, DefaultDataTimeout)
	if o.MaxReuse <= 0 {
		o.MaxReuse = DefaultMaxReuse
	}

	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		o:      o,
		log:    log.With("component", "outbound"),
		dialer: net.Dialer{Timeout: o.ConnectTimeout},
		cache:  newConnCache(o.CacheIdle, o.MaxReuse, o.MaxConnLife),
	}, nil
}

// orDefault returns d unless it is zero or less, and def then.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// errInvalid returns an ErrInvalidArgument with details.
func errInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
