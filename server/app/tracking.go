package app

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/lightr-mail/lightr/jobs/sender"
	"github.com/lightr-mail/lightr/mail/track"
	"github.com/lightr-mail/lightr/server/httpapi"
)

// tracking is what the outbound workers and the HTTP endpoints share of
// open and click tracking.
type tracking struct {
	signer  *track.Signer
	baseURL string
	proxies []netip.Prefix
}

// openTracking reads the tracking section of the configuration, creating
// the signing key file at the first start when tracking.secret is empty.
func (a *App) openTracking() (*tracking, error) {
	c := a.Config
	key := []byte(c.Tracking.Secret)
	if len(key) == 0 {
		var err error
		if key, err = loadOrCreateKey(c.TrackingKeyPath()); err != nil {
			return nil, fmt.Errorf("tracking key: %w", err)
		}
	}
	signer, err := track.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("tracking.secret: %w", err)
	}
	base, err := trackingBase(c.Tracking.BaseURL, c.HTTP.Addr, c.SMTP.Domain)
	if err != nil {
		return nil, err
	}
	proxies, err := parsePrefixes("tracking.trusted_proxies", c.Tracking.TrustedProxies)
	if err != nil {
		return nil, err
	}
	return &tracking{signer: signer, baseURL: base, proxies: proxies}, nil
}

// senderOptions are the outbound workers' part.
func (t *tracking) senderOptions(perRecipient int) sender.Tracking {
	return sender.Tracking{Signer: t.signer, BaseURL: t.baseURL, PerRecipient: perRecipient}
}

// trackingHTTP returns the HTTP endpoints' part of t.
func (a *App) trackingHTTP(t *tracking) httpapi.TrackingOptions {
	return httpapi.TrackingOptions{
		Recorder: &track.Recorder{
			Client: a.DB.Client, Signer: t.signer, Notify: a.Notify, MaxEvents: a.Config.Tracking.MaxEvents,
		},
		TrustedProxies: t.proxies,
	}
}

// trackingBase returns the scheme and host of the tracking links:
// tracking.base_url, or http://<http.addr> with smtp.domain standing in
// for an unspecified host.
func trackingBase(base, httpAddr, domain string) (string, error) {
	if base == "" {
		host, port, err := net.SplitHostPort(httpAddr)
		if err != nil {
			return "", fmt.Errorf("http.addr: %w", err)
		}
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			host = domain
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("tracking.base_url %q: want http(s)://host[:port] and nothing more", base)
	}
	return u.Scheme + "://" + u.Host, nil
}

// loadOrCreateKey reads the key in path (hex text), creating it with 32
// random bytes if there is none.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b), nil
}

// createKey writes a new key to path, unless another process just did.
func createKey(path string) error {
	var k [track.KeySize]byte
	_, _ = rand.Read(k[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(hex.EncodeToString(k[:]) + "\n")
	return errors.Join(err, f.Close())
}
