package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/server/auth"
	"github.com/lightr-mail/lightr/server/servertest"
)

// whoAmI is a query every tenant credential may run.
const whoAmI = `{ organizations { edges { node { id } } } }`

// tokenClaims returns claims that the server would accept for org, had
// they been signed by its key.
func tokenClaims(e *servertest.Env, org string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": e.App.Auth.Token.Issuer,
		"aud": []string{e.App.Auth.Token.Audience},
		"sub": "attacker",
		"org": org,
		"scp": "read write send keys",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": "01JTESTJTI0000000000000000",
	}
}

// sign signs claims with method and key, naming kid in the header.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return s
}

// b64 encodes v as JSON in unpadded base64url, as a JWT segment.
func b64(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// serverSigningKey reads the server's private key from its data directory,
// so that a test can sign claims the issuer would never put in a token.
func serverSigningKey(t testing.TB, e *servertest.Env) ed25519.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(e.App.Config.JWTKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block in the server's key file")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key.(ed25519.PrivateKey)
}

// serverPublicKey returns the raw 32 bytes of the server's public key.
func serverPublicKey(t testing.TB, e *servertest.Env) ed25519.PublicKey {
	t.Helper()
	block, _ := pem.Decode(e.App.Keys.PublicKeyPEM())
	if block == nil {
		t.Fatal("no PEM block in PublicKeyPEM")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key.(ed25519.PublicKey)
}

func TestAuth_RefusesBadCredentials(t *testing.T) {
	e := servertest.New(t, nil)
	org := createOrg(t, e, "A")
	opts, kid := e.App.Auth.Token, e.App.Keys.KeyID()
	scopes := []string{"read", "write", "send", "keys"}
	issue := func(t testing.TB, opts auth.TokenOptions, org string, ttl time.Duration,
		now time.Time) string {
		t.Helper()
		tok, _, err := e.App.Keys.Issue(opts, org, "test", scopes, ttl, now)
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
		return tok
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherSet, err := auth.NewKeySet(otherKey)
	if err != nil {
		t.Fatal(err)
	}

	// Organizations whose credentials must stop working.
	deleted := createOrg(t, e, "Deleted")
	deletedToken := e.Token(t, pulid.ID(deleted))
	err = e.App.DB.Client.Organization.DeleteOneID(pulid.ID(deleted)).Exec(e.Admin())
	if err != nil {
		t.Fatal(err)
	}
	disabled := createOrg(t, e, "Disabled")
	disabledToken := e.Token(t, pulid.ID(disabled))
	if err := e.App.DB.Client.Organization.UpdateOneID(pulid.ID(disabled)).
		SetDisabled(true).Exec(e.Admin()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		bearer func(t testing.TB) string
	}{
		{"no credential", func(testing.TB) string { return "" }},
		{"garbage", func(testing.TB) string { return "not-a-token" }},
		{"forged with another key", func(t testing.TB) string {
			tok, _, err := otherSet.Issue(opts, org, "test", scopes, time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"forged with another key under the server's kid", func(t testing.TB) string {
			return sign(t, jwt.SigningMethodEdDSA, otherKey, kid, tokenClaims(e, org))
		}},
		{"signature of another token", func(t testing.TB) string {
			// A valid token for the deleted organization, its payload
			// swapped for one naming org.
			parts := strings.Split(issue(t, opts, deleted, time.Hour, time.Now()), ".")
			return parts[0] + "." + b64(t, tokenClaims(e, org)) + "." + parts[2]
		}},
		{"expired", func(t testing.TB) string {
			return issue(t, opts, org, time.Hour, time.Now().Add(-2*time.Hour))
		}},
		{"not yet valid", func(t testing.TB) string {
			return issue(t, opts, org, time.Hour, time.Now().Add(time.Hour))
		}},
		{"alg none", func(t testing.TB) string {
			header := map[string]any{"alg": "none", "typ": "JWT", "kid": kid}
			return b64(t, header) + "." + b64(t, tokenClaims(e, org)) + "."
		}},
		{"alg none signed by the library", func(t testing.TB) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid,
				tokenClaims(e, org))
		}},
		{"HS256 keyed with the public key PEM", func(t testing.TB) string {
			return sign(t, jwt.SigningMethodHS256, e.App.Keys.PublicKeyPEM(), kid,
				tokenClaims(e, org))
		}},
		{"HS256 keyed with the raw public key", func(t testing.TB) string {
			return sign(t, jwt.SigningMethodHS256, []byte(serverPublicKey(t, e)), kid,
				tokenClaims(e, org))
		}},
		{"another audience", func(t testing.TB) string {
			o := opts
			o.Audience = "lightr:smtp"
			return issue(t, o, org, time.Hour, time.Now())
		}},
		{"another issuer", func(t testing.TB) string {
			o := opts
			o.Issuer = "https://evil.example"
			return issue(t, o, org, time.Hour, time.Now())
		}},
		{"no exp", func(t testing.TB) string {
			c := tokenClaims(e, org)
			delete(c, "exp")
			return sign(t, jwt.SigningMethodEdDSA, serverSigningKey(t, e), kid, c)
		}},
		{"no org", func(t testing.TB) string {
			c := tokenClaims(e, org)
			delete(c, "org")
			return sign(t, jwt.SigningMethodEdDSA, serverSigningKey(t, e), kid, c)
		}},
		{"organization that does not exist", func(t testing.TB) string {
			return issue(t, opts, string(pulid.New("org")), time.Hour, time.Now())
		}},
		{"organization deleted since", func(testing.TB) string { return deletedToken }},
		{"organization disabled", func(testing.TB) string { return disabledToken }},
		{"unknown API key", func(testing.TB) string {
			secret, _, _ := auth.NewAPIKey()
			return secret
		}},
		{"API key shape with bad characters", func(testing.TB) string {
			return auth.APIKeyPrefix + strings.Repeat("!", 52)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, tc.bearer(t), whoAmI, nil)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", r.Status)
			}
			wantCode(t, r, "UNAUTHENTICATED", org)
			if len(r.Data) != 0 && string(r.Data) != "null" {
				t.Errorf("data = %s, want none", r.Data)
			}
		})
	}

	// Positive control: the same server accepts a token it issued.
	t.Run("valid token", func(t *testing.T) {
		r := e.Do(t, issue(t, opts, org, time.Hour, time.Now()), whoAmI, nil)
		wantOK(t, r)
		if !strings.Contains(string(r.Data), org) {
			t.Errorf("data = %s, want organization %s", r.Data, org)
		}
	})
}

func TestAuth_UnauthenticatedResponse(t *testing.T) {
	e := servertest.New(t, nil)
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no header", http.Header{}},
		{"basic scheme", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, r := postGraphQL(t, e, tc.header, whoAmI, nil)
			if raw.Status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", raw.Status)
			}
			if got := raw.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
			wantCode(t, r, "UNAUTHENTICATED")
		})
	}
}

func TestAuth_APIKeys(t *testing.T) {
	e := servertest.New(t, nil)
	org := createOrg(t, e, "A")
	token := e.Token(t, pulid.ID(org))

	t.Run("valid key", func(t *testing.T) {
		_, secret := createAPIKey(t, e, token, map[string]any{"name": "ok"})
		r := e.Do(t, secret, whoAmI, nil)
		wantOK(t, r)
		if !strings.Contains(string(r.Data), org) {
			t.Errorf("data = %s, want organization %s", r.Data, org)
		}
		waitKeyUsed(t, e, secret)
	})
	t.Run("revoked key", func(t *testing.T) {
		id, secret := createAPIKey(t, e, token, map[string]any{"name": "revoked"})
		wantOK(t, e.Do(t, secret, whoAmI, nil)) // control: it works before
		waitKeyUsed(t, e, secret)
		mustDo(t, e, token, `mutation($id: ID!) { deleteAPIKey(id: $id) { deletedID } }`,
			map[string]any{"id": id}, nil)
		r := e.Do(t, secret, whoAmI, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
		wantCode(t, r, "UNAUTHENTICATED", org)
	})
	t.Run("expired key", func(t *testing.T) {
		_, secret := createAPIKey(t, e, token, map[string]any{
			"name": "expired", "expiresAt": time.Now().Add(-time.Minute).Format(time.RFC3339),
		})
		r := e.Do(t, secret, whoAmI, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
		wantCode(t, r, "UNAUTHENTICATED", org)
	})
	t.Run("key of a disabled organization", func(t *testing.T) {
		other := createOrg(t, e, "Disabled")
		_, secret := createAPIKey(t, e, e.Token(t, pulid.ID(other)), map[string]any{"name": "k"})
		if err := e.App.DB.Client.Organization.UpdateOneID(pulid.ID(other)).
			SetDisabled(true).Exec(e.Admin()); err != nil {
			t.Fatal(err)
		}
		r := e.Do(t, secret, whoAmI, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", r.Status)
		}
		wantCode(t, r, "UNAUTHENTICATED", other)
		// The authenticator may record the use before it checks the
		// organization; let that write finish before the database closes.
		keyUseRecorded(t, e, secret, time.Second)
	})
}

func TestAuth_DatabaseFailureIsNotUnauthenticated(t *testing.T) {
	e := servertest.New(t, nil)
	org := createOrg(t, e, "A")
	token := e.Token(t, pulid.ID(org))
	wantOK(t, e.Do(t, token, whoAmI, nil)) // control

	// With the database gone, a valid credential cannot be checked: that
	// is the server's failure, and a 401 would tell the client to throw
	// its credential away.
	if err := e.App.DB.Close(); err != nil {
		t.Fatal(err)
	}
	raw, r := postGraphQL(t, e, http.Header{"Authorization": {"Bearer " + token}}, whoAmI, nil)
	if raw.Status < 500 {
		t.Errorf("status %d, want a 5xx", raw.Status)
	}
	if r.Code() == "UNAUTHENTICATED" {
		t.Errorf("extensions.code = %q (%q), want a server error", r.Code(), r.Errors[0].Message)
	}
}
