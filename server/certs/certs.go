package certs

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/rule"
)

// lookupTTL is how long the answer to "which files serve this SNI name"
// is kept, so that handshakes do not each query the database. It is also
// how long a running server takes to see `lightr domain-tls`.
const lookupTTL = time.Minute

// recheckEvery is how often a loaded key pair's files are stat'ed for a
// change on disk.
const recheckEvery = 5 * time.Second

// maxNames bounds the SNI cache: SNI names are chosen by clients.
const maxNames = 10000

// Store picks certificates by SNI. It is safe for concurrent use.
type Store struct {
	client              *ent.Client
	defaultCert, defKey string

	mu      sync.Mutex
	files   map[string]*loaded // keyed by cert path + "\x00" + key path
	byName  map[string]named   // SNI name -> files, with expiry
	nowFunc func() time.Time
}

// loaded is a key pair read from disk and the modification times it was
// read at.
type loaded struct {
	cert            *tls.Certificate
	certMod, keyMod time.Time
	checked         time.Time
}

// named caches which files serve an SNI name; empty paths mean the
// default certificate.
type named struct {
	certPath, keyPath string
	expires           time.Time
}

// New returns a Store serving certFile/keyFile by default and the files
// named on hosted domains when SNI asks for them. client may be nil, in
// which case only the default certificate is served. The default pair is
// loaded now, so a missing or broken file stops the start.
func New(client *ent.Client, certFile, keyFile string) (*Store, error) {
	s := &Store{
		client:      client,
		defaultCert: certFile,
		defKey:      keyFile,
		files:       map[string]*loaded{},
		byName:      map[string]named{},
		nowFunc:     time.Now,
	}
	if _, err := s.load(certFile, keyFile); err != nil {
		return nil, err
	}
	return s, nil
}

// TLSConfig returns a server configuration that asks the Store for each
// handshake's certificate. TLS 1.2 is the minimum (RFC 8996 retires 1.0
// and 1.1); mail clients and MTAs that cannot do 1.2 fall back to
// plaintext on an MX, which is no worse than before.
func (s *Store) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.GetCertificate,
	}
}

// GetCertificate implements tls.Config.GetCertificate.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	certPath, keyPath := s.defaultCert, s.defKey
	if name := strings.ToLower(strings.TrimSuffix(hello.ServerName, ".")); name != "" {
		ctx := hello.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if c, k := s.filesFor(ctx, name); c != "" {
			certPath, keyPath = c, k
		}
	}
	cert, err := s.load(certPath, keyPath)
	if err != nil && certPath != s.defaultCert {
		// A broken domain certificate must not take TLS down for that
		// domain; the default certificate still encrypts.
		return s.load(s.defaultCert, s.defKey)
	}
	return cert, err
}

// filesFor returns the certificate files of the hosted domain that name
// is, or is under, or empty strings.
func (s *Store) filesFor(ctx context.Context, name string) (certPath, keyPath string) {
	now := s.nowFunc()
	s.mu.Lock()
	n, ok := s.byName[name]
	s.mu.Unlock()
	if ok && now.Before(n.expires) {
		return n.certPath, n.keyPath
	}

	if s.client == nil {
		return "", ""
	}
	n = named{expires: now.Add(lookupTTL)}
	var err error
	if n.certPath, n.keyPath, err = s.query(ctx, name); err != nil {
		// Not cached: a failed lookup (a canceled handshake, a busy
		// database) must not pin the default certificate for a minute.
		return "", ""
	}
	s.mu.Lock()
	if len(s.byName) >= maxNames {
		clear(s.byName)
	}
	s.byName[name] = n
	s.mu.Unlock()
	return n.certPath, n.keyPath
}

// query finds the closest hosted domain at or above name that has both
// certificate files.
func (s *Store) query(ctx context.Context, name string) (certPath, keyPath string, err error) {
	var candidates []string
	for n := name; strings.Contains(n, "."); n = n[strings.IndexByte(n, '.')+1:] {
		candidates = append(candidates, n)
	}
	if len(candidates) == 0 {
		return "", "", nil
	}
	// Both files in the filter: a domain with only one of them set must
	// not hide a parent domain that has a whole pair.
	ds, err := s.client.Domain.Query().
		Where(domain.NameIn(candidates...), domain.TLSCertFileNEQ(""), domain.TLSKeyFileNEQ("")).
		All(rule.SystemContext(ctx))
	if err != nil {
		return "", "", err
	}
	var best *ent.Domain
	for _, d := range ds {
		if best == nil || len(d.Name) > len(best.Name) {
			best = d
		}
	}
	if best == nil {
		return "", "", nil
	}
	return best.TLSCertFile, best.TLSKeyFile, nil
}

// load returns the key pair at the two paths, reading it again when
// either file changed since it was last read (checked at most every few
// seconds).
func (s *Store) load(certPath, keyPath string) (*tls.Certificate, error) {
	key := certPath + "\x00" + keyPath
	now := s.nowFunc()
	// checked is written by whichever handshake re-stats the files, so it
	// is read under the lock too; the rest of a loaded is never changed.
	s.mu.Lock()
	l := s.files[key]
	fresh := l != nil && now.Sub(l.checked) < recheckEvery
	s.mu.Unlock()
	if fresh {
		return l.cert, nil
	}

	cm, km, err := modTimes(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if l != nil && l.certMod.Equal(cm) && l.keyMod.Equal(km) {
		s.mu.Lock()
		l.checked = now
		s.mu.Unlock()
		return l.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s: %w", certPath, err)
	}
	s.mu.Lock()
	s.files[key] = &loaded{cert: &pair, certMod: cm, keyMod: km, checked: now}
	s.mu.Unlock()
	return &pair, nil
}

func modTimes(certPath, keyPath string) (time.Time, time.Time, error) {
	ci, err := os.Stat(certPath)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("certs: %w", err)
	}
	ki, err := os.Stat(keyPath)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("certs: %w", err)
	}
	return ci.ModTime(), ki.ModTime(), nil
}
