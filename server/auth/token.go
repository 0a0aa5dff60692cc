package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oklog/ulid/v2"
)

// ErrInvalidToken is returned, wrapped, by [KeySet.Verify] for every token
// it refuses. Test for it with [errors.Is]; the wrapped detail (expired,
// bad signature, wrong audience, ...) is meant for logs, not for clients.
var ErrInvalidToken = errors.New("auth: invalid token")

// MaxTokenTTL is the longest lifetime [KeySet.Issue] grants, whatever the
// configuration says. Tokens cannot be revoked one by one without a
// denylist lookup, so they should be short (the jwt.max_ttl setting narrows
// this further); long-lived integrations hold revocable API keys instead.
const MaxTokenTTL = 30 * 24 * time.Hour

// Verification limits.
const (
	// leeway absorbs clock skew between the issuer and the verifier when
	// checking exp, nbf and iat.
	leeway = 30 * time.Second

	// maxTokenLen bounds the input handed to the JWT parser. Our tokens are
	// well under 1 KiB; anything much longer is not one of ours.
	maxTokenLen = 8 << 10

	// maxKidLen bounds how much of an unknown kid is echoed into an error.
	maxKidLen = 64
)

// TokenOptions names the party that issues tokens and the surface that
// accepts them.
type TokenOptions struct {
	// Issuer is the iss claim, the server's public URL ("https://<host>").
	Issuer string

	// Audience is the aud claim: the surface the token is for, such as
	// "lightr:graphql" or "lightr:smtp". Each surface verifies with its own
	// audience, so a token minted for one is refused by the others.
	Audience string
}

// TokenClaims is the claims set of a Lightr tenant token.
type TokenClaims struct {
	jwt.RegisteredClaims

	// Org is the id of the organization the token acts for.
	Org string `json:"org"`

	// Scope is the space-separated list of granted scopes, such as
	// "email:send email:read". Use [TokenClaims.Scopes] or
	// [TokenClaims.HasScope] to read it.
	Scope string `json:"scp,omitempty"`
}

// Scopes returns the granted scopes as a slice.
func (c *TokenClaims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether scope is among the granted scopes.
func (c *TokenClaims) HasScope(scope string) bool {
	for _, s := range strings.Fields(c.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// Validate implements [jwt.ClaimsValidator]. The parser calls it after the
// registered claims have passed, and it refuses tokens without an
// organization or a subject: every Lightr token names both.
func (c *TokenClaims) Validate() error {
	if c.Org == "" {
		return errors.New("auth: token has no org claim")
	}
	if c.Subject == "" {
		return errors.New("auth: token has no sub claim")
	}
	return nil
}

// Issue signs a token for subject acting in organization org with the given
// scopes. The token is valid from now until now+ttl, and its kid header
// names the signing key. It returns the token and its expiry, which is
// truncated to whole seconds as it is in the token itself.
//
// Issue does not check that the caller may grant these scopes; that is the
// job of the token-exchange logic that calls it.
func (ks *KeySet) Issue(opts TokenOptions, org, subject string, scopes []string,
	ttl time.Duration, now time.Time) (token string, expires time.Time, err error) {
	if err := opts.check(); err != nil {
		return "", time.Time{}, err
	}
	switch {
	case org == "":
		return "", time.Time{}, errors.New("auth: issue token: empty org")
	case subject == "":
		return "", time.Time{}, errors.New("auth: issue token: empty subject")
	case ttl <= 0 || ttl > MaxTokenTTL:
		return "", time.Time{}, fmt.Errorf("auth: issue token: ttl %v is not in (0, %v]",
			ttl, MaxTokenTTL)
	}

	// Scopes travel space-separated and are read back with strings.Fields,
	// so a scope must not contain any kind of space.
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
			return "", time.Time{}, fmt.Errorf("auth: issue token: bad scope %q", s)
		}
	}

	// A ULID is random enough to be unguessable (80 bits from crypto/rand)
	// and sorts by time, which suits a jti denylist table.
	jti, err := ulid.New(ulid.Timestamp(now), rand.Reader)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: jti: %w", err)
	}

	claims := &TokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    opts.Issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{opts.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti.String(),
		},
		Org:   org,
		Scope: strings.Join(scopes, " "),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = ks.kid
	token, err = t.SignedString(ks.signer)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: %w", err)
	}
	return token, claims.ExpiresAt.Time, nil
}

// Verify checks token and returns its claims. The token must be signed with
// EdDSA by a key of the set named in its kid header, carry the expected
// issuer and audience, carry an exp that has not passed, and not be used
// before its nbf or iat; 30 seconds of clock skew are allowed. It must also
// name an organization and a subject.
//
// Every failure wraps [ErrInvalidToken] together with the underlying reason,
// so errors.Is works for both ErrInvalidToken and the jwt package's errors.
func (ks *KeySet) Verify(opts TokenOptions, token string) (*TokenClaims, error) {
	if err := opts.check(); err != nil {
		// A verifier with an empty issuer would silently skip the iss check.
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: token is %d bytes long", ErrInvalidToken, len(token))
	}

	now := time.Now
	if ks.now != nil {
		now = ks.now
	}
	claims := new(TokenClaims)
	_, err := jwt.ParseWithClaims(token, claims, ks.keyFunc,
		// Pinning the algorithm is what stops "alg":"none" and HS256 tokens
		// keyed with our public key (algorithm confusion).
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		// Refuse non-canonical base64, so that one token has one spelling.
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return claims, nil
}

// keyFunc picks the verification key named by the token's kid header. It is
// called only after the parser has checked the algorithm against
// WithValidMethods; it checks again so that the key it returns can only ever
// be used as an Ed25519 key.
func (ks *KeySet) keyFunc(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
		return nil, fmt.Errorf("auth: unexpected signing method %q", t.Method.Alg())
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("auth: token has no kid header")
	}
	pub, ok := ks.keys[kid]
	if !ok {
		if len(kid) > maxKidLen {
			kid = kid[:maxKidLen] + "..."
		}
		return nil, fmt.Errorf("auth: unknown kid %q", kid)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("auth: key %q is not an Ed25519 public key", kid)
	}
	return pub, nil
}

// check reports whether both fields are set.
func (o TokenOptions) check() error {
	if o.Issuer == "" || o.Audience == "" {
		return errors.New("auth: token issuer and audience must be set")
	}
	return nil
}
