package access

import (
	"context"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/auth"
)

// IssuedToken is a freshly signed tenant token.
type IssuedToken struct {
	Token     string
	ExpiresAt time.Time
	OrgID     pulid.ID
	Scopes    []string
}

// IssueToken signs a tenant token for org (the viewer's own organization
// unless the viewer is the admin). Scopes default to the viewer's and may
// not exceed them; ttl defaults to DefaultTTL and may not exceed MaxTTL.
func (a *Authenticator) IssueToken(ctx context.Context, org pulid.ID, scopes []string,
	ttl time.Duration) (*IssuedToken, error) {
	v := viewer.FromContext(ctx)
	scopes, err := GrantableScopes(v, scopes)
	if err != nil {
		return nil, err
	}
	if org, err = targetOrg(v, org); err != nil {
		return nil, err
	}
	// The organization must be visible to the viewer: this also refuses a
	// tenant naming another organization.
	if _, err := a.Client.Organization.Get(ctx, org); err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = a.DefaultTTL
	}
	if ttl < 0 || ttl > a.MaxTTL {
		return nil, &TTLError{Max: a.MaxTTL}
	}
	subject := v.Subject
	if subject == "" {
		subject = v.Kind.String()
	}
	tok, exp, err := a.Keys.Issue(a.Token, string(org), subject, scopes, ttl, a.now())
	if err != nil {
		return nil, err
	}
	return &IssuedToken{Token: tok, ExpiresAt: exp, OrgID: org, Scopes: scopes}, nil
}

// TTLError reports a token lifetime out of range.
type TTLError struct{ Max time.Duration }

// Error implements error.
func (e *TTLError) Error() string {
	return fmt.Sprintf("ttl must be positive and at most %v", e.Max)
}

func targetOrg(v *viewer.Viewer, org pulid.ID) (pulid.ID, error) {
	switch {
	case v.Admin() && org == "":
		return "", fmt.Errorf("%w: the server admin must name an organization", ErrForbidden)
	case v.Admin():
		return org, nil
	case org != "" && org != v.OrgID:
		return "", fmt.Errorf("%w: not your organization", ErrForbidden)
	}
	return v.OrgID, nil
}

// CreatedKey is a new API key with its secret, which is shown only once.
type CreatedKey struct {
	Key    *ent.APIKey
	Secret string
}

// CreateAPIKey makes an API key for org (the viewer's own unless the
// viewer is the admin). Scopes default to the viewer's and may not exceed
// them.
func CreateAPIKey(ctx context.Context, c *ent.Client, org pulid.ID,
	in ent.CreateAPIKeyInput) (*CreatedKey, error) {
	v := viewer.FromContext(ctx)
	scopes, err := GrantableScopes(v, in.Scopes)
	if err != nil {
		return nil, err
	}
	if org, err = targetOrg(v, org); err != nil {
		return nil, err
	}
	in.Scopes = scopes
	secret, prefix, hash := auth.NewAPIKey()
	k, err := c.APIKey.Create().
		SetInput(in).
		SetOrganizationID(org).
		SetPrefix(prefix).
		SetSecretHash(hash).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return &CreatedKey{Key: k, Secret: secret}, nil
}

// CreateAdminKey makes a server-wide admin API key (for `lightr init`).
func CreateAdminKey(ctx context.Context, c *ent.Client, name string) (*CreatedKey, error) {
	secret, prefix, hash := auth.NewAPIKey()
	k, err := c.APIKey.Create().
		SetName(name).
		SetPrefix(prefix).
		SetSecretHash(hash).
		SetAdmin(true).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return &CreatedKey{Key: k, Secret: secret}, nil
}
