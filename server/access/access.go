package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/apikey"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/auth"
)

// ErrUnauthenticated is returned for a missing, malformed, unknown,
// expired or revoked credential. The detail is wrapped for logs only.
var ErrUnauthenticated = errors.New("access: unauthenticated")

// ErrForbidden is returned when a valid viewer asks for more than it holds.
var ErrForbidden = errors.New("access: forbidden")

// Authenticator verifies credentials against the signing keys and the
// database.
type Authenticator struct {
	Client *ent.Client
	Keys   *auth.KeySet
	Token  auth.TokenOptions
	// AdminKeyHash, when set, is the hash of an extra admin API key
	// provisioned through configuration (admin.api_key_hash[_file]).
	AdminKeyHash string
	// DefaultTTL and MaxTTL bound issued tokens.
	DefaultTTL, MaxTTL time.Duration
	Log                *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	pending sync.WaitGroup // last-use updates still running
}

// Wait blocks until the background updates of API key use are done; call
// it before closing the database.
func (a *Authenticator) Wait() { a.pending.Wait() }

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Authenticate returns the viewer for a bearer credential: an API key
// (lr_…) or a tenant JWT.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (*viewer.Viewer, error) {
	if bearer == "" {
		return nil, fmt.Errorf("%w: no credential", ErrUnauthenticated)
	}
	if auth.LooksLikeAPIKey(bearer) {
		return a.apiKey(ctx, bearer)
	}
	return a.jwt(ctx, bearer)
}

func (a *Authenticator) apiKey(ctx context.Context, secret string) (*viewer.Viewer, error) {
	// The lookup is by hash, before any viewer exists, so it runs as the
	// system; the hash is unique and reveals nothing.
	if a.AdminKeyHash != "" && auth.CheckAPIKey(secret, a.AdminKeyHash) {
		return &viewer.Viewer{Kind: viewer.KindAdmin, Subject: "config-admin-key"}, nil
	}
	sys := rule.SystemContext(ctx)
	k, err := a.Client.APIKey.Query().Where(apikey.SecretHash(auth.HashAPIKey(secret))).Only(sys)
	if ent.IsNotFound(err) {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthenticated)
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return nil, fmt.Errorf("%w: API key %s expired", ErrUnauthenticated, k.ID)
	}
	var expires time.Time
	if k.ExpiresAt != nil {
		expires = *k.ExpiresAt
	}
	if k.Admin {
		a.touch(sys, k, now)
		return &viewer.Viewer{Kind: viewer.KindAdmin, Subject: string(k.ID), KeyID: k.ID, Expires: expires}, nil
	}
	if err := a.checkOrg(sys, k.OrganizationID); err != nil {
		return nil, err
	}
	a.touch(sys, k, now)
	return &viewer.Viewer{
		Kind:    viewer.KindOrg,
		OrgID:   k.OrganizationID,
		Scopes:  toScopes(k.Scopes),
		Subject: string(k.ID),
		KeyID:   k.ID,
		Expires: expires,
	}, nil
}

// StillValid returns an ErrUnauthenticated error once v's credential
// has stopped being valid since it was authenticated: its API key was
// deleted or has expired, or its organization was deleted or disabled.
// Connections that outlive a request (subscriptions) ask it now and
// then; a token's own expiry they watch themselves (Viewer.Expires).
func (a *Authenticator) StillValid(ctx context.Context, v *viewer.Viewer) error {
	sys := rule.SystemContext(ctx)
	if v.KeyID != "" {
		k, err := a.Client.APIKey.Get(sys, v.KeyID)
		if ent.IsNotFound(err) {
			return fmt.Errorf("%w: API key %s was deleted", ErrUnauthenticated, v.KeyID)
		}
		if err != nil {
			return err
		}
		if k.ExpiresAt != nil && !a.now().Before(*k.ExpiresAt) {
			return fmt.Errorf("%w: API key %s expired", ErrUnauthenticated, k.ID)
		}
	}
	if v.Kind == viewer.KindAdmin {
		return nil
	}
	return a.checkOrg(sys, v.OrgID)
}

// touch records when a key was last used, at most once a minute so that a
// busy integration does not turn every request into a write.
func (a *Authenticator) touch(ctx context.Context, k *ent.APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < time.Minute {
		return
	}
	a.pending.Add(1)
	go func() {
		defer a.pending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := a.Client.APIKey.UpdateOneID(k.ID).SetLastUsedAt(now).Exec(ctx); err != nil &&
			a.Log != nil {
			a.Log.Warn("record API key use", "key_id", k.ID, "err", err)
		}
	}()
}

func (a *Authenticator) jwt(ctx context.Context, token string) (*viewer.Viewer, error) {
	claims, err := a.Keys.Verify(a.Token, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	org := pulid.ID(claims.Org)
	if err := a.checkOrg(rule.SystemContext(ctx), org); err != nil {
		return nil, err
	}
	return &viewer.Viewer{
		Kind:    viewer.KindOrg,
		OrgID:   org,
		Scopes:  toScopes(claims.Scopes()),
		Subject: claims.Subject,
		Expires: claims.ExpiresAt.Time,
	}, nil
}

// checkOrg refuses credentials of a deleted or disabled organization.
func (a *Authenticator) checkOrg(ctx context.Context, id pulid.ID) error {
	o, err := a.Client.Organization.Get(ctx, id)
	if ent.IsNotFound(err) {
		return fmt.Errorf("%w: organization %s does not exist", ErrUnauthenticated, id)
	}
	if err != nil {
		return err
	}
	if o.Disabled {
		return fmt.Errorf("%w: organization %s is disabled", ErrUnauthenticated, id)
	}
	return nil
}

func toScopes(ss []string) []viewer.Scope {
	out := make([]viewer.Scope, 0, len(ss))
	for _, s := range ss {
		if viewer.ValidScope(s) {
			out = append(out, viewer.Scope(s))
		}
	}
	return out
}

// GrantableScopes checks that v may hand out scopes, and returns them (v's own
// tenant scopes when none are asked for).
func GrantableScopes(v *viewer.Viewer, asked []string) ([]string, error) {
	if v == nil {
		return nil, ErrUnauthenticated
	}
	if !v.Has(viewer.ScopeKeys) {
		return nil, fmt.Errorf("%w: the %q scope is required", ErrForbidden, viewer.ScopeKeys)
	}
	if asked == nil {
		for _, s := range viewer.TenantScopes {
			if v.Has(s) {
				asked = append(asked, string(s))
			}
		}
		return asked, nil
	}
	out := make([]string, 0, len(asked))
	for _, s := range asked {
		if !viewer.ValidScope(s) {
			return nil, &ScopeError{Scope: s}
		}
		if !v.Has(viewer.Scope(s)) {
			return nil, fmt.Errorf("%w: cannot grant scope %q you do not hold", ErrForbidden, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ScopeError names an unknown scope.
type ScopeError struct{ Scope string }

// Error implements error.
func (e *ScopeError) Error() string {
	return fmt.Sprintf("unknown scope %q (known: read, write, send, keys)", e.Scope)
}
