package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/certs"
	"github.com/lightr-mail/lightr/server/config"
)

// ErrExists is returned by Init when it would overwrite a file.
var ErrExists = errors.New("app: already exists")

// InitOptions configure Init.
type InitOptions struct {
	// ConfigPath is where lightr.yaml is written.
	ConfigPath string
	// Overrides replace template defaults, keyed like "http.addr".
	Overrides map[string]any
	// Force overwrites an existing configuration file and signing key.
	Force bool
}

// InitResult reports what Init created.
type InitResult struct {
	Config      *config.Config
	AdminKey    string // shown once; only its hash is stored
	AdminKeyID  string
	JWTKeyPath  string
	DatabaseRef string
}

// ensureCertificate creates a self-signed certificate for the SMTP
// greeting name at the default TLS paths when the operator named no
// certificate and none is there yet, so that STARTTLS works from the
// first start. An existing file is never replaced.
func ensureCertificate(cfg *config.Config) error {
	if cfg.SMTP.TLSCertFile != "" {
		return nil
	}
	if _, err := os.Stat(cfg.TLSCertPath()); err == nil {
		return nil
	}
	hosts := []string{cfg.SMTP.Domain, "localhost", "127.0.0.1", "::1"}
	if err := certs.GenerateSelfSigned(cfg.TLSCertPath(), cfg.TLSKeyPath(), hosts); err != nil {
		return fmt.Errorf("create a self-signed TLS certificate: %w", err)
	}
	return nil
}

// Init writes a commented configuration file, creates the data directory
// with a new JWT signing key, creates the database and an admin API key.
func Init(ctx context.Context, o InitOptions) (*InitResult, error) {
	if _, err := os.Stat(o.ConfigPath); err == nil && !o.Force {
		return nil, fmt.Errorf("%w: %s; pass --force to overwrite it", ErrExists, o.ConfigPath)
	}
	var buf bytes.Buffer
	if err := config.WriteTemplate(&buf, o.Overrides); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(o.ConfigPath), 0o750); err != nil {
		return nil, err
	}
	if err := os.WriteFile(o.ConfigPath, buf.Bytes(), 0o640); err != nil {
		return nil, fmt.Errorf("write %s: %w", o.ConfigPath, err)
	}
	// Read back with the environment applied, as serve will: keys and the
	// database go where serve will look for them (LIGHTR_DATA_DIR included).
	cfg, err := config.Load(config.LoadOptions{File: o.ConfigPath})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.KeysDir(), 0o700); err != nil {
		return nil, err
	}
	keyPath := cfg.JWTKeyPath()
	if o.Force {
		if err := os.Remove(keyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if err := auth.GenerateKeyFile(keyPath); err != nil {
		return nil, fmt.Errorf("%w (pass --force to replace the signing key; "+
			"tokens it signed stop working)", err)
	}

	if err := ensureCertificate(cfg); err != nil {
		return nil, err
	}

	a, err := Open(ctx, cfg, NewLogger(cfg.Log, os.Stderr))
	if err != nil {
		return nil, err
	}
	defer func() { _ = a.Close() }() // a failure to close loses nothing here
	k, err := access.CreateAdminKey(viewer.AdminContext(ctx), a.DB.Client, "admin (lightr init)")
	if err != nil {
		return nil, err
	}
	return &InitResult{
		Config: cfg, AdminKey: k.Secret, AdminKeyID: string(k.Key.ID),
		JWTKeyPath: keyPath, DatabaseRef: cfg.DatabasePath(),
	}, nil
}
