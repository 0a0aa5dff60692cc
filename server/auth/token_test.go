package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"
)

var (
	// testNow is the verifier's clock in these tests.
	testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

	testOpts = TokenOptions{Issuer: "https://lightr.test", Audience: "lightr:graphql"}
)

// newTestKeySet returns a KeySet with a fresh key whose clock reads testNow.
func newTestKeySet(t *testing.T) *KeySet {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(priv)
	if err != nil {
		t.Fatal(err)
	}
	ks.now = func() time.Time { return testNow }
	return ks
}

// validClaims returns claims that ks.Verify accepts at testNow.
func validClaims() *TokenClaims {
	return &TokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testOpts.Issuer,
			Subject:   "usr_01",
			Audience:  jwt.ClaimStrings{testOpts.Audience},
			ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Minute)),
			IssuedAt:  jwt.NewNumericDate(testNow),
			ID:        "jti-1",
		},
		Org:   "org_01",
		Scope: "email:send",
	}
}

// sign signs claims with the given method and key, setting kid if not empty.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// segment encodes v as a JWT segment: unpadded base64url JSON.
func segment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue calls ks.Issue with fixed org, subject and scopes.
func issue(t *testing.T, ks *KeySet, opts TokenOptions, ttl time.Duration, now time.Time) string {
	t.Helper()
	tok, _, err := ks.Issue(opts, "org_01", "usr_01", []string{"email:send"}, ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIssueVerify(t *testing.T) {
	ks := newTestKeySet(t)
	scopes := []string{"email:send", "events:read"}
	tok, exp, err := ks.Issue(testOpts, "org_01", "usr_01", scopes, 15*time.Minute, testNow)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := testNow.Add(15 * time.Minute); !exp.Equal(want) {
		t.Errorf("Issue expires = %v, want %v", exp, want)
	}

	// The header names the algorithm and the signing key.
	var header map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": ks.KeyID()}
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}

	got, err := ks.Verify(testOpts, tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := ulid.ParseStrict(got.ID); err != nil {
		t.Errorf("jti %q is not a ULID: %v", got.ID, err)
	}
	want := &TokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testOpts.Issuer,
			Subject:   "usr_01",
			Audience:  jwt.ClaimStrings{testOpts.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(testNow),
			IssuedAt:  jwt.NewNumericDate(testNow),
			ID:        got.ID,
		},
		Org:   "org_01",
		Scope: "email:send events:read",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(scopes, got.Scopes()); diff != "" {
		t.Errorf("Scopes mismatch (-want +got):\n%s", diff)
	}
	if !got.HasScope("events:read") || got.HasScope("admin") || got.HasScope("email") {
		t.Errorf("HasScope is wrong for scopes %q", got.Scope)
	}

	// Two tokens never share a jti.
	again, err := ks.Verify(testOpts, issue(t, ks, testOpts, time.Minute, testNow))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == got.ID {
		t.Errorf("two tokens share jti %q", got.ID)
	}
}

func TestIssueRefuses(t *testing.T) {
	ks := newTestKeySet(t)
	tests := []struct {
		name    string
		opts    TokenOptions
		org     string
		subject string
		scopes  []string
		ttl     time.Duration
	}{
		{"no issuer", TokenOptions{Audience: "a"}, "o", "s", nil, time.Minute},
		{"no audience", TokenOptions{Issuer: "i"}, "o", "s", nil, time.Minute},
		{"no org", testOpts, "", "s", nil, time.Minute},
		{"no subject", testOpts, "o", "", nil, time.Minute},
		{"zero ttl", testOpts, "o", "s", nil, 0},
		{"negative ttl", testOpts, "o", "s", nil, -time.Minute},
		{"ttl too long", testOpts, "o", "s", nil, MaxTokenTTL + time.Second},
		{"empty scope", testOpts, "o", "s", []string{"a", ""}, time.Minute},
		{"scope with space", testOpts, "o", "s", []string{"a b"}, time.Minute},
		{"scope with tab", testOpts, "o", "s", []string{"a\tb"}, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, _, err := ks.Issue(tc.opts, tc.org, tc.subject, tc.scopes, tc.ttl, testNow)
			if err == nil {
				t.Errorf("Issue = %q, want an error", tok)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ks := newTestKeySet(t)
	pub := ks.signer.Public().(ed25519.PublicKey)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKid := thumbprint(otherKey.Public().(ed25519.PublicKey))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
		// detail is the jwt error that must be wrapped besides
		// ErrInvalidToken; nil with refuse set means any.
		detail error
		refuse bool
	}{
		{
			name:  "valid",
			token: func(t *testing.T) string { return issue(t, ks, testOpts, time.Hour, testNow) },
		},
		{
			name: "expired within leeway",
			token: func(t *testing.T) string {
				return issue(t, ks, testOpts, time.Hour, testNow.Add(-time.Hour-20*time.Second))
			},
		},
		{
			name: "issued slightly in the future",
			token: func(t *testing.T) string {
				return issue(t, ks, testOpts, time.Hour, testNow.Add(20*time.Second))
			},
		},
		{
			name: "expired",
			token: func(t *testing.T) string {
				return issue(t, ks, testOpts, time.Hour, testNow.Add(-2*time.Hour))
			},
			detail: jwt.ErrTokenExpired,
			refuse: true,
		},
		{
			name: "not yet valid",
			token: func(t *testing.T) string {
				return issue(t, ks, testOpts, time.Hour, testNow.Add(time.Minute))
			},
			detail: jwt.ErrTokenNotValidYet,
			refuse: true,
		},
		{
			name: "issued in the future without nbf",
			token: func(t *testing.T) string {
				c := validClaims()
				c.IssuedAt = jwt.NewNumericDate(testNow.Add(time.Minute))
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			detail: jwt.ErrTokenUsedBeforeIssued,
			refuse: true,
		},
		{
			name: "alg none",
			token: func(t *testing.T) string {
				h := segment(t, map[string]string{"alg": "none", "typ": "JWT"})
				return h + "." + segment(t, validClaims()) + "."
			},
			detail: jwt.ErrTokenSignatureInvalid,
			refuse: true,
		},
		{
			name: "alg none with our kid",
			token: func(t *testing.T) string {
				h := segment(t, map[string]string{"alg": "none", "typ": "JWT", "kid": ks.KeyID()})
				return h + "." + segment(t, validClaims()) + "."
			},
			detail: jwt.ErrTokenSignatureInvalid,
			refuse: true,
		},
		{
			name: "HS256 keyed with the public key",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(pub), ks.KeyID(), validClaims())
			},
			detail: jwt.ErrTokenSignatureInvalid,
			refuse: true,
		},
		{
			name: "ES256 with our kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodES256, ecKey, ks.KeyID(), validClaims())
			},
			detail: jwt.ErrTokenSignatureInvalid,
			refuse: true,
		},
		{
			name: "other audience",
			token: func(t *testing.T) string {
				opts := TokenOptions{Issuer: testOpts.Issuer, Audience: "lightr:smtp"}
				return issue(t, ks, opts, time.Hour, testNow)
			},
			detail: jwt.ErrTokenInvalidAudience,
			refuse: true,
		},
		{
			name: "no audience",
			token: func(t *testing.T) string {
				c := validClaims()
				c.Audience = nil
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			detail: jwt.ErrTokenRequiredClaimMissing,
			refuse: true,
		},
		{
			name: "other issuer",
			token: func(t *testing.T) string {
				opts := TokenOptions{Issuer: "https://evil.test", Audience: testOpts.Audience}
				return issue(t, ks, opts, time.Hour, testNow)
			},
			detail: jwt.ErrTokenInvalidIssuer,
			refuse: true,
		},
		{
			name: "no exp",
			token: func(t *testing.T) string {
				c := validClaims()
				c.ExpiresAt = nil
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			detail: jwt.ErrTokenRequiredClaimMissing,
			refuse: true,
		},
		{
			name: "no org",
			token: func(t *testing.T) string {
				c := validClaims()
				c.Org = ""
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			detail: jwt.ErrTokenInvalidClaims,
			refuse: true,
		},
		{
			name: "no subject",
			token: func(t *testing.T) string {
				c := validClaims()
				c.Subject = ""
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			detail: jwt.ErrTokenInvalidClaims,
			refuse: true,
		},
		{
			name: "other key with our kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, otherKey, ks.KeyID(), validClaims())
			},
			detail: jwt.ErrEd25519Verification,
			refuse: true,
		},
		{
			name: "tampered payload",
			token: func(t *testing.T) string {
				parts := strings.Split(issue(t, ks, testOpts, time.Hour, testNow), ".")
				c := validClaims()
				c.Org = "org_02"
				parts[1] = segment(t, c)
				return strings.Join(parts, ".")
			},
			detail: jwt.ErrEd25519Verification,
			refuse: true,
		},
		{
			name: "truncated signature",
			token: func(t *testing.T) string {
				tok := issue(t, ks, testOpts, time.Hour, testNow)
				return tok[:len(tok)-4]
			},
			refuse: true,
		},
		{
			name: "unknown kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, otherKey, otherKid, validClaims())
			},
			detail: jwt.ErrTokenUnverifiable,
			refuse: true,
		},
		{
			name: "no kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, "", validClaims())
			},
			detail: jwt.ErrTokenUnverifiable,
			refuse: true,
		},
		{
			name:   "malformed",
			token:  func(t *testing.T) string { return "not-a-jwt" },
			detail: jwt.ErrTokenMalformed,
			refuse: true,
		},
		{
			name:   "empty",
			token:  func(t *testing.T) string { return "" },
			detail: jwt.ErrTokenMalformed,
			refuse: true,
		},
		{
			name: "too long",
			token: func(t *testing.T) string {
				c := validClaims()
				c.Scope = strings.Repeat("x", maxTokenLen)
				return sign(t, jwt.SigningMethodEdDSA, ks.signer, ks.KeyID(), c)
			},
			refuse: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token(t)
			claims, err := ks.Verify(testOpts, tok)
			if !tc.refuse {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if claims.Org != "org_01" {
					t.Errorf("Org = %q, want org_01", claims.Org)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", claims, err)
			}
			t.Logf("refused: %v", err)
			if tc.detail != nil && !errors.Is(err, tc.detail) {
				t.Errorf("Verify error %q does not wrap %q", err, tc.detail)
			}
			if claims != nil {
				t.Errorf("Verify returned claims %+v with an error", claims)
			}
		})
	}
}

func TestVerifyNeedsOptions(t *testing.T) {
	ks := newTestKeySet(t)
	tok := issue(t, ks, testOpts, time.Hour, testNow)
	for _, opts := range []TokenOptions{
		{Audience: testOpts.Audience},
		{Issuer: testOpts.Issuer},
	} {
		if _, err := ks.Verify(opts, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%+v) = %v, want ErrInvalidToken", opts, err)
		}
	}
}

// TestVerifyRealClock checks that Verify uses the wall clock by default.
func TestVerifyRealClock(t *testing.T) {
	ks := newTestKeySet(t)
	ks.now = nil
	if _, err := ks.Verify(testOpts, issue(t, ks, testOpts, time.Minute, time.Now())); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	_, err := ks.Verify(testOpts, issue(t, ks, testOpts, time.Minute, time.Now().Add(-time.Hour)))
	if !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("old token: got %v, want expired", err)
	}
}
