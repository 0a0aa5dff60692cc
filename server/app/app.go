package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/db"
)

// App is an opened Lightr instance.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	DB     *db.DB
	Keys   *auth.KeySet
	Auth   *access.Authenticator
	// Notify wakes the watchers of a mailbox (IMAP IDLE) when SMTP
	// delivery or the GraphQL API changed it.
	Notify *notify.Hub
}

// NewLogger returns the logger the configuration asks for, writing to w.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ErrNotInitialized is returned when the data directory lacks the files
// that `lightr init` creates.
var ErrNotInitialized = errors.New("app: not initialized")

// Open opens the database (migrating it) and loads the signing keys.
func Open(ctx context.Context, c *config.Config, log *slog.Logger) (*App, error) {
	keys, err := auth.LoadKeySet(c.JWTKeyPath(), c.JWT.PublicKeyFiles)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no JWT signing key at %s; run `lightr init` first "+
			"(or set jwt.private_key_file)", ErrNotInitialized, c.JWTKeyPath())
	}
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, db.Options{
		Path:        c.DatabasePath(),
		BusyTimeout: c.Database.BusyTimeout,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	a := &App{Config: c, Log: log, DB: d, Keys: keys, Notify: notify.New()}
	a.Auth = &access.Authenticator{
		Client:       d.Client,
		Keys:         keys,
		Token:        auth.TokenOptions{Issuer: c.JWT.Issuer, Audience: c.JWT.Audience},
		DefaultTTL:   c.JWT.DefaultTTL,
		MaxTTL:       c.JWT.MaxTTL,
		AdminKeyHash: c.Admin.APIKeyHash,
		Log:          log,
	}
	return a, nil
}

// Close waits for background writes and releases the database.
func (a *App) Close() error {
	a.Auth.Wait()
	return a.DB.Close()
}
