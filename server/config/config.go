package config

import (
	"path/filepath"
	"time"
)

// Config is the complete configuration of the lightr binary.
//
// Each field's mapstructure tag is its key in lightr.yaml; nested structs
// are sections, so HTTP.Addr is the key http.addr. The comment above a field
// is the one line [WriteTemplate] writes above its key, so every field needs
// a single-line comment. Other tags, all read by reflection:
//
//   - oneof: the space-separated list of allowed values;
//   - check: comma-separated rules from "nonempty", "positive", "hostport"
//     and "hostname" (the last two accept an empty value);
//   - path: the value is a path, or a list of paths, that [Load] resolves
//     against the directory of the configuration file;
//   - secret: the string value is a secret; it is hidden by
//     [Config.Redacted] and may be read from the file named by key K_file.
//
// The comments are read from this file's source, embedded in the binary,
// so section types must be declared in this file too.
//
// A new key needs only a new field here and its value in [Default]:
// loading, environment variables, flags, validation, redaction and the
// template all follow from the struct.
type Config struct {
	// Directory holding the database, keys and other state.
	DataDir string `mapstructure:"data_dir" path:"true" check:"nonempty"`
	// Logging.
	Log Log `mapstructure:"log"`
	// SQLite database.
	Database Database `mapstructure:"database"`
	// GraphQL and REST API server.
	HTTP HTTP `mapstructure:"http"`
	// SMTP server.
	SMTP SMTP `mapstructure:"smtp"`
	// DNS resolver.
	DNS DNS `mapstructure:"dns"`
	// IMAP server.
	IMAP IMAP `mapstructure:"imap"`
	// Mail submission by clients and applications (RFC 6409).
	Submission Submission `mapstructure:"submission"`
	// Delivery of outbound mail to remote servers.
	Outbound Outbound `mapstructure:"outbound"`
	// DKIM signing keys created by Lightr.
	DKIM DKIM `mapstructure:"dkim"`
	// Delivery of events to webhook endpoints.
	Webhooks Webhooks `mapstructure:"webhooks"`
	// GraphQL subscriptions (WebSocket and SSE).
	Subscriptions Subscriptions `mapstructure:"subscriptions"`
	// JSON Web Tokens issued to API clients.
	JWT JWT `mapstructure:"jwt"`
	// Administrator access.
	Admin Admin `mapstructure:"admin"`
	// Open and click tracking of outbound mail.
	Tracking Tracking `mapstructure:"tracking"`

	// File is the configuration file that Load read, or empty when no file
	// was given or found. It is not a configuration key.
	File string `mapstructure:"-"`
}

// Log configures the process logger.
type Log struct {
	// Lowest level logged.
	Level string `mapstructure:"level" oneof:"debug info warn error"`
	// Log line format.
	Format string `mapstructure:"format" oneof:"text json"`
}

// Database configures the SQLite database.
type Database struct {
	// Database file; empty means <data_dir>/lightr.db.
	Path string `mapstructure:"path" path:"true"`
	// How long a query waits for a locked database.
	BusyTimeout time.Duration `mapstructure:"busy_timeout" check:"positive"`
}

// HTTP configures the GraphQL and REST API listener.
type HTTP struct {
	// Address the API listens on.
	Addr string `mapstructure:"addr" check:"hostport"`
	// Serve the GraphiQL playground.
	GraphiQL bool `mapstructure:"graphiql"`
	// Allow GraphQL schema introspection.
	Introspection bool `mapstructure:"introspection"`
	// Deepest GraphQL query accepted.
	MaxDepth int `mapstructure:"max_depth" check:"positive"`
	// Highest GraphQL query complexity accepted.
	MaxComplexity int `mapstructure:"max_complexity" check:"positive"`
	// Largest page a paginated query may ask for.
	MaxPageSize int `mapstructure:"max_page_size" check:"positive"`
	// Page size of a paginated query that names neither first nor last.
	DefaultPageSize int `mapstructure:"default_page_size" check:"positive"`
	// Time allowed to read a whole request.
	ReadTimeout time.Duration `mapstructure:"read_timeout" check:"positive"`
	// Time allowed to write a response.
	WriteTimeout time.Duration `mapstructure:"write_timeout" check:"positive"`
	// Time given to requests in flight at shutdown.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" check:"positive"`
	// Largest request body accepted, in bytes.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes" check:"positive"`
}

// SMTP configures the SMTP listener.
type SMTP struct {
	// Address the SMTP server (MX) listens on.
	Addr string `mapstructure:"addr" check:"hostport"`
	// Host name announced in the SMTP greeting and in Received headers.
	Domain string `mapstructure:"domain" check:"hostname"`
	// PEM certificate chain for STARTTLS when no hosted domain matches the
	// client's SNI name; empty means <data_dir>/tls/cert.pem.
	TLSCertFile string `mapstructure:"tls_cert_file" path:"true"`
	// PEM private key of tls_cert_file; empty means <data_dir>/tls/key.pem.
	TLSKeyFile string `mapstructure:"tls_key_file" path:"true"`
	// Largest message accepted, in bytes (SIZE, RFC 1870).
	MaxMessageBytes int64 `mapstructure:"max_message_bytes" check:"positive"`
	// Most recipients of one message.
	MaxRecipients int `mapstructure:"max_recipients" check:"positive"`
	// Longest command line accepted, in bytes.
	MaxLineLength int `mapstructure:"max_line_length" check:"positive"`
	// Time allowed for the client's next command or data block.
	ReadTimeout time.Duration `mapstructure:"read_timeout" check:"positive"`
	// Time allowed to write a reply.
	WriteTimeout time.Duration `mapstructure:"write_timeout" check:"positive"`
	// Most concurrent connections in total.
	MaxConnections int `mapstructure:"max_connections" check:"positive"`
	// Most concurrent connections from one client IP address.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip" check:"positive"`
	// Rejected commands in one session before the server answers 421 and hangs up.
	MaxErrors int `mapstructure:"max_errors" check:"positive"`
	// Networks (CIDR) whose clients are trusted: not limited per IP and not
	// rejected for DMARC. Loopback is not trusted unless listed.
	TrustedNetworks []string `mapstructure:"trusted_networks" check:"cidr"`
	// Time given to sessions in flight at shutdown.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" check:"positive"`
}

// DNS configures how Lightr asks DNS (SPF, DKIM, DMARC, MX).
type DNS struct {
	// Address (host:port) of the DNS server to ask; empty means the system's
	// resolvers from /etc/resolv.conf.
	Resolver string `mapstructure:"resolver" check:"optional_hostport"`
	// Time allowed for one DNS query.
	Timeout time.Duration `mapstructure:"timeout" check:"positive"`
}

// IMAP configures the IMAP listeners.
type IMAP struct {
	// Address the IMAP server listens on (STARTTLS, port 143 style).
	Addr string `mapstructure:"addr" check:"hostport"`
	// Address for IMAP over implicit TLS (port 993 style); empty means none.
	TLSAddr string `mapstructure:"tls_addr" check:"optional_hostport"`
	// Let clients log in without TLS. For development on loopback only: passwords then travel in clear.
	AllowInsecureAuth bool `mapstructure:"allow_insecure_auth"`
	// Most concurrent connections in total.
	MaxConnections int `mapstructure:"max_connections" check:"positive"`
	// Most concurrent connections from one client IP address.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip" check:"positive"`
	// Most concurrent logged-in sessions of one account.
	MaxConnectionsPerAccount int `mapstructure:"max_connections_per_account" check:"positive"`
	// Longest a connection may stay silent, IDLE included (RFC 9051 asks for at least 30m).
	IdleTimeout time.Duration `mapstructure:"idle_timeout" check:"positive"`
	// Longest command in bytes, literals not counted; a longer one ends the connection (BYE). go-imap caps it at 51200.
	MaxCommandBytes int `mapstructure:"max_command_bytes" check:"positive"`
	// Failed logins from one address, or to one account, within login_failure_window before logins are refused.
	MaxLoginFailures int `mapstructure:"max_login_failures" check:"positive"`
	// Window over which failed logins are counted, and how long a block lasts.
	LoginFailureWindow time.Duration `mapstructure:"login_failure_window" check:"positive"`
	// Networks (CIDR) exempt from the per-IP limits. Loopback is not trusted unless listed.
	TrustedNetworks []string `mapstructure:"trusted_networks" check:"cidr"`
}

// Submission configures the listeners where accounts and API keys submit
// mail to be sent (RFC 6409).
type Submission struct {
	// Address for submission with STARTTLS (port 587 style); empty means none.
	Addr string `mapstructure:"addr" check:"optional_hostport"`
	// Address for submission over implicit TLS (port 465 style, RFC 8314); empty means none.
	TLSAddr string `mapstructure:"tls_addr" check:"optional_hostport"`
	// Let clients authenticate without TLS. For development on loopback only: passwords then travel in clear.
	AllowInsecureAuth bool `mapstructure:"allow_insecure_auth"`
	// Largest message accepted, in bytes.
	MaxMessageBytes int64 `mapstructure:"max_message_bytes" check:"positive"`
	// Most recipients of one message.
	MaxRecipients int `mapstructure:"max_recipients" check:"positive"`
	// Most concurrent connections in total, per listener.
	MaxConnections int `mapstructure:"max_connections" check:"positive"`
	// Most concurrent connections from one client IP address.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip" check:"positive"`
	// Failed authentications from one address, or for one user, within auth_failure_window before AUTH is refused.
	MaxAuthFailures int `mapstructure:"max_auth_failures" check:"positive"`
	// Window over which failed authentications are counted, and how long a block lasts.
	AuthFailureWindow time.Duration `mapstructure:"auth_failure_window" check:"positive"`
	// Time allowed for the client's next command or data block.
	ReadTimeout time.Duration `mapstructure:"read_timeout" check:"positive"`
	// Networks (CIDR) exempt from the per-IP limits. Loopback is not trusted unless listed.
	TrustedNetworks []string `mapstructure:"trusted_networks" check:"cidr"`
}

// Outbound configures the delivery queue and the SMTP client that sends
// mail to other servers.
type Outbound struct {
	// Host name sent in EHLO; empty means smtp.domain.
	HeloName string `mapstructure:"helo_name" check:"hostname"`
	// TCP port of remote mail exchangers. Only tests change it.
	MXPort int `mapstructure:"mx_port" check:"positive"`
	// Deliveries in flight at once, over all destinations.
	Workers int `mapstructure:"workers" check:"positive"`
	// Deliveries in flight at once to one destination domain, by all Lightr processes together.
	MaxPerDomain int `mapstructure:"max_per_domain" check:"positive"`
	// Delays between delivery attempts; the last one repeats. Each is moved by up to 20% at random.
	RetrySchedule []time.Duration `mapstructure:"retry_schedule" check:"durations"`
	// Time after queueing when a message still undelivered fails and its sender gets a bounce.
	MaxAge time.Duration `mapstructure:"max_age" check:"positive"`
	// How often the queue is checked for mail that became due; new mail is sent at once.
	PollInterval time.Duration `mapstructure:"poll_interval" check:"positive"`
	// How long a worker holds a claimed delivery before another worker or process may take it over.
	Lease time.Duration `mapstructure:"lease" check:"positive"`
	// Name of this process among those sharing the database; empty means the host name. Must be unique per process.
	NodeName string `mapstructure:"node_name"`
	// STARTTLS to mail exchangers: opportunistic uses it when offered; require and require_verified refuse cleartext.
	TLS string `mapstructure:"tls" oneof:"opportunistic require require_verified"`
	// Time allowed for one TCP connection to a mail exchanger.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout" check:"positive"`
	// Time allowed for each SMTP reply but the last one.
	CommandTimeout time.Duration `mapstructure:"command_timeout" check:"positive"`
	// Time allowed to send the message and get the final reply.
	DataTimeout time.Duration `mapstructure:"data_timeout" check:"positive"`
	// How long an idle connection is kept for the next message to the same server; 0s turns reuse off.
	ConnectionCache time.Duration `mapstructure:"connection_cache"`
	// PEM CA certificates that verify remote servers and the smarthost; empty means the system's roots.
	CAFile string `mapstructure:"ca_file" path:"true"`
	// Relay that takes outbound mail instead of the recipients' mail exchangers.
	Smarthost Smarthost `mapstructure:"smarthost"`
}

// Smarthost is a relay for outbound mail.
type Smarthost struct {
	// Host name or IP address of the relay; empty means deliver to the recipients' MX hosts.
	Host string `mapstructure:"host"`
	// TCP port; 0 means 587 for starttls, 465 for tls and 25 for none.
	Port int `mapstructure:"port"`
	// How the connection is secured.
	TLS string `mapstructure:"tls" oneof:"starttls tls none"`
	// User name for AUTH PLAIN; empty means no authentication.
	Username string `mapstructure:"username"`
	// Password for AUTH PLAIN.
	Password string `mapstructure:"password" secret:"true"`
	// Sending domains whose mail goes through the relay; empty means every domain.
	Domains []string `mapstructure:"domains"`
}

// Subscriptions configures GraphQL subscriptions over WebSocket and SSE.
type Subscriptions struct {
	// Events a subscriber may fall behind before it is dropped (SLOW_CONSUMER).
	Buffer int `mapstructure:"buffer" check:"positive"`
	// Most subscriptions open at once on one WebSocket connection.
	MaxPerConnection int `mapstructure:"max_per_connection" check:"positive"`
	// Most subscriptions open at once for one organization.
	MaxPerOrganization int `mapstructure:"max_per_organization" check:"positive"`
	// Interval of keepalive pings (WebSocket ping/pong and ka, SSE comments).
	KeepAlive time.Duration `mapstructure:"keepalive" check:"positive"`
	// Time a WebSocket client has to send connection_init.
	InitTimeout time.Duration `mapstructure:"init_timeout" check:"positive"`
	// Other origins (host patterns, e.g. app.example.com) browsers may open WebSockets from.
	AllowedOrigins []string `mapstructure:"allowed_origins"`
	// How often a subscription's credential is checked again, so that deleting its API key or disabling its
	// organization closes it.
	CredentialRecheck time.Duration `mapstructure:"credential_recheck" check:"positive"`
}

// Webhooks configures the delivery of events to webhook endpoints.
type Webhooks struct {
	// Let endpoints resolve to loopback addresses (127.0.0.0/8, ::1, localhost). For tests and local receivers.
	AllowLoopback bool `mapstructure:"allow_loopback"`
	// Let endpoints resolve to private addresses (RFC 1918, 100.64.0.0/10, fc00::/7). Metadata stays refused.
	AllowPrivate bool `mapstructure:"allow_private"`
	// Accept http:// endpoint URLs beside https://.
	AllowHTTP bool `mapstructure:"allow_http"`
	// Deliveries in flight at once.
	Workers int `mapstructure:"workers" check:"positive"`
	// Time allowed for one delivery attempt, connection included.
	Timeout time.Duration `mapstructure:"timeout" check:"positive"`
	// Delays between attempts of one delivery; the last one repeats. Each is moved by up to 20% at random.
	RetrySchedule []time.Duration `mapstructure:"retry_schedule" check:"durations"`
	// Most attempts of one delivery before it fails.
	MaxAttempts int `mapstructure:"max_attempts" check:"positive"`
	// Time after queueing when a delivery still failing is given up.
	MaxAge time.Duration `mapstructure:"max_age" check:"positive"`
	// Consecutive failed attempts after which an endpoint is disabled (with disable_after).
	DisableAfterFailures int `mapstructure:"disable_after_failures" check:"positive"`
	// Least time an endpoint must have been failing before it is disabled; 0 disables on the count alone.
	DisableAfter time.Duration `mapstructure:"disable_after"`
	// How often the event log is read without a wake-up (writes by another process).
	PollInterval time.Duration `mapstructure:"poll_interval" check:"positive"`
}

// DKIM configures the DKIM keys Lightr creates for sending domains.
type DKIM struct {
	// DNS selector of new DKIM keys.
	Selector string `mapstructure:"selector" check:"nonempty,hostname"`
	// Size of new RSA DKIM keys.
	KeyBits int `mapstructure:"key_bits" oneof:"1024 2048 3072 4096"`
	// Algorithm of new DKIM keys.
	Algorithm string `mapstructure:"algorithm" oneof:"rsa ed25519"`
}

// JWT configures the tokens Lightr issues and accepts.
type JWT struct {
	// Issuer (iss) of the tokens.
	Issuer string `mapstructure:"issuer" check:"nonempty"`
	// Audience (aud) of the tokens.
	Audience string `mapstructure:"audience" check:"nonempty"`
	// PEM signing key; empty means <data_dir>/keys/jwt.pem.
	PrivateKeyFile string `mapstructure:"private_key_file" path:"true"`
	// Extra PEM public keys still accepted during key rotation.
	PublicKeyFiles []string `mapstructure:"public_key_files" path:"true"`
	// Lifetime of a token when none is asked for.
	DefaultTTL time.Duration `mapstructure:"default_ttl" check:"positive"`
	// Longest lifetime a token may be issued for.
	MaxTTL time.Duration `mapstructure:"max_ttl" check:"positive"`
}

// Admin configures administrator access to the API.
type Admin struct {
	// SHA-256 (hex) of an extra admin API key, accepted beside those in the database.
	APIKeyHash string `mapstructure:"api_key_hash" secret:"true"`
}

// Tracking configures the links and endpoints of open and click
// tracking (/t/o/ and /t/c/ on the HTTP listener).
type Tracking struct {
	// Scheme and host of the tracking links of domains without a tracking host; empty means http://<http.addr>.
	BaseURL string `mapstructure:"base_url"`
	// Key (32 bytes or more) that signs the links; empty means <data_dir>/keys/tracking.key, made at the first start.
	Secret string `mapstructure:"secret" secret:"true"`
	// Most open (and most click) events recorded per message and recipient; later hits are served, not recorded.
	MaxEvents int `mapstructure:"max_events" check:"positive"`
	// Most recipients of a message in one domain that get a copy each, so that their opens and clicks are told apart.
	PerRecipientLimit int `mapstructure:"per_recipient_limit" check:"positive"`
	// Networks (CIDR) of reverse proxies whose X-Forwarded-For names the client of a tracking request.
	TrustedProxies []string `mapstructure:"trusted_proxies" check:"cidr"`
}

// Default returns the configuration used when no file, environment variable
// or flag sets a key. Unlike [Load], it leaves relative paths unresolved.
func Default() *Config {
	return &Config{
		DataDir: "./data",
		Log: Log{
			Level:  "info",
			Format: "text",
		},
		Database: Database{
			BusyTimeout: 10 * time.Second,
		},
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			GraphiQL:        true,
			Introspection:   true,
			MaxDepth:        15,
			MaxComplexity:   5000,
			MaxPageSize:     100,
			DefaultPageSize: 25,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    60 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			MaxBodyBytes:    10 << 20,
		},
		SMTP: SMTP{
			Addr:                ":2525",
			Domain:              "localhost",
			MaxMessageBytes:     25 << 20,
			MaxRecipients:       100,
			MaxLineLength:       2000,
			ReadTimeout:         5 * time.Minute,
			WriteTimeout:        time.Minute,
			MaxConnections:      1000,
			MaxConnectionsPerIP: 20,
			MaxErrors:           10,
			ShutdownTimeout:     30 * time.Second,
		},
		DNS: DNS{
			Timeout: 5 * time.Second,
		},
		IMAP: IMAP{
			Addr:                     ":1143",
			MaxConnections:           2000,
			MaxConnectionsPerIP:      50,
			MaxConnectionsPerAccount: 20,
			IdleTimeout:              30 * time.Minute,
			MaxCommandBytes:          50 << 10,
			MaxLoginFailures:         10,
			LoginFailureWindow:       15 * time.Minute,
		},
		Submission: Submission{
			Addr:                ":5587",
			MaxMessageBytes:     25 << 20,
			MaxRecipients:       100,
			MaxConnections:      500,
			MaxConnectionsPerIP: 20,
			MaxAuthFailures:     10,
			AuthFailureWindow:   15 * time.Minute,
			ReadTimeout:         5 * time.Minute,
		},
		Outbound: Outbound{
			MXPort:       25,
			Workers:      32,
			MaxPerDomain: 20,
			RetrySchedule: []time.Duration{
				time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
				time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
			},
			MaxAge:          120 * time.Hour,
			PollInterval:    5 * time.Second,
			Lease:           15 * time.Minute,
			TLS:             "opportunistic",
			ConnectTimeout:  30 * time.Second,
			CommandTimeout:  5 * time.Minute,
			DataTimeout:     10 * time.Minute,
			ConnectionCache: 2 * time.Second,
			Smarthost:       Smarthost{TLS: "starttls"},
		},
		Webhooks: Webhooks{
			Workers: 8,
			Timeout: 15 * time.Second,
			RetrySchedule: []time.Duration{
				5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
				time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
			},
			MaxAttempts:          20,
			MaxAge:               72 * time.Hour,
			DisableAfterFailures: 20,
			DisableAfter:         24 * time.Hour,
			PollInterval:         5 * time.Second,
		},
		DKIM: DKIM{
			Selector:  "default",
			KeyBits:   2048,
			Algorithm: "rsa",
		},
		Subscriptions: Subscriptions{
			Buffer:             256,
			MaxPerConnection:   20,
			MaxPerOrganization: 1000,
			KeepAlive:          25 * time.Second,
			InitTimeout:        10 * time.Second,
			CredentialRecheck:  30 * time.Second,
		},
		JWT: JWT{
			Issuer:     "lightr",
			Audience:   "lightr",
			DefaultTTL: 24 * time.Hour,
			MaxTTL:     720 * time.Hour,
		},
		Tracking: Tracking{
			MaxEvents:         100,
			PerRecipientLimit: 25,
		},
	}
}

// TrackingKeyPath returns the file of the generated tracking key,
// <data_dir>/keys/tracking.key, used when tracking.secret is empty.
func (c *Config) TrackingKeyPath() string {
	return filepath.Join(c.KeysDir(), "tracking.key")
}

// KeysDir returns the directory holding generated keys, <data_dir>/keys.
func (c *Config) KeysDir() string {
	return filepath.Join(c.DataDir, "keys")
}

// DatabasePath returns the SQLite database file: database.path when set,
// else <data_dir>/lightr.db.
func (c *Config) DatabasePath() string {
	if c.Database.Path != "" {
		return c.Database.Path
	}
	return filepath.Join(c.DataDir, "lightr.db")
}

// JWTKeyPath returns the PEM file holding the JWT signing key:
// jwt.private_key_file when set, else <data_dir>/keys/jwt.pem.
func (c *Config) JWTKeyPath() string {
	if c.JWT.PrivateKeyFile != "" {
		return c.JWT.PrivateKeyFile
	}
	return filepath.Join(c.KeysDir(), "jwt.pem")
}

// TLSCertPath returns the default certificate served by SMTP (and later
// IMAP): smtp.tls_cert_file when set, else <data_dir>/tls/cert.pem.
func (c *Config) TLSCertPath() string {
	if c.SMTP.TLSCertFile != "" {
		return c.SMTP.TLSCertFile
	}
	return filepath.Join(c.DataDir, "tls", "cert.pem")
}

// TLSKeyPath returns the private key of TLSCertPath: smtp.tls_key_file
// when set, else <data_dir>/tls/key.pem.
func (c *Config) TLSKeyPath() string {
	if c.SMTP.TLSKeyFile != "" {
		return c.SMTP.TLSKeyFile
	}
	return filepath.Join(c.DataDir, "tls", "key.pem")
}
