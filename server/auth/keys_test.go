package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// The Ed25519 key of RFC 8037 Appendix A.1 and its thumbprint from A.3.
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

// writeFile writes data to name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "jwt.pem")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatalf("GenerateKeyFile: %v", err)
	}

	for _, c := range []struct {
		path string
		mode fs.FileMode
	}{{dir, fs.ModeDir | 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}

	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeySet(path, nil); err != nil {
		t.Errorf("LoadKeySet of a generated key: %v", err)
	}

	// A second run must neither succeed nor touch the existing key.
	if err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("GenerateKeyFile over an existing file = %v, want fs.ErrExist", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("GenerateKeyFile changed an existing key file")
	}
}

// TestThumbprint checks the kid against RFC 8037 Appendix A.3, computing the
// RFC 7638 thumbprint independently from the canonical JSON.
func TestThumbprint(t *testing.T) {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + rfc8037X + `"}`
	sum := sha256.Sum256([]byte(canonical))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != rfc8037Thumbprint {
		t.Fatalf("independent thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}

	x, err := base64.RawURLEncoding.DecodeString(rfc8037X)
	if err != nil {
		t.Fatal(err)
	}
	if got := thumbprint(x); got != rfc8037Thumbprint {
		t.Errorf("thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}
}

func TestJWKS(t *testing.T) {
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	if ks.KeyID() != rfc8037Thumbprint {
		t.Errorf("KeyID = %s, want %s", ks.KeyID(), rfc8037Thumbprint)
	}

	// Decode into plain maps so that unexpected members show up too.
	var got map[string][]map[string]string
	if err := json.Unmarshal(ks.JWKS(), &got); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, ks.JWKS())
	}
	want := map[string][]map[string]string{"keys": {{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   rfc8037X,
		"kid": rfc8037Thumbprint,
		"alg": "EdDSA",
		"use": "sig",
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JWKS mismatch (-want +got):\n%s", diff)
	}

	// The caller may not change the set's copy.
	b := ks.JWKS()
	b[0] = 'X'
	if ks.JWKS()[0] != '{' {
		t.Error("JWKS returned the KeySet's own buffer")
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	oldPriv := filepath.Join(dir, "old.pem")
	if err := GenerateKeyFile(oldPriv); err != nil {
		t.Fatal(err)
	}
	oldSet, err := LoadKeySet(oldPriv, nil)
	if err != nil {
		t.Fatal(err)
	}
	oldPub := writeFile(t, dir, "old.pub.pem", oldSet.PublicKeyPEM())
	tok := issue(t, oldSet, testOpts, time.Hour, time.Now())

	newPriv := filepath.Join(dir, "new.pem")
	if err := GenerateKeyFile(newPriv); err != nil {
		t.Fatal(err)
	}

	// Without the old public key, the old token's kid is unknown.
	alone, err := LoadKeySet(newPriv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.Verify(testOpts, tok); !errors.Is(err, jwt.ErrTokenUnverifiable) {
		t.Errorf("Verify without the old key = %v, want unverifiable", err)
	}

	// Listing it (twice, and the new key's own public half too) accepts it.
	newPub := writeFile(t, dir, "new.pub.pem", alone.PublicKeyPEM())
	rotated, err := LoadKeySet(newPriv, []string{oldPub, newPub, oldPub})
	if err != nil {
		t.Fatal(err)
	}
	if rotated.KeyID() != alone.KeyID() {
		t.Errorf("KeyID = %s, want the new key %s", rotated.KeyID(), alone.KeyID())
	}
	if _, err := rotated.Verify(testOpts, tok); err != nil {
		t.Errorf("Verify of an old-key token: %v", err)
	}
	if _, err := rotated.Verify(testOpts, issue(t, rotated, testOpts, time.Hour,
		time.Now())); err != nil {
		t.Errorf("Verify of a new-key token: %v", err)
	}

	// The JWKS lists each key once, the signing key first.
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(rotated.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	if diff := cmp.Diff([]string{alone.KeyID(), oldSet.KeyID()}, kids); diff != "" {
		t.Errorf("JWKS kids mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadKeySetErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pem")
	if err := GenerateKeyFile(good); err != nil {
		t.Fatal(err)
	}
	goodPEM, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeySet(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	goodPub := writeFile(t, dir, "good.pub.pem", ks.PublicKeyPEM())

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPubDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv := writeFile(t, dir, "ec.pem",
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	ecPub := writeFile(t, dir, "ec.pub.pem",
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPubDER}))
	garbage := writeFile(t, dir, "garbage.pem", []byte("not a key\n"))
	badDER := writeFile(t, dir, "baddir.pem",
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))
	trailing := writeFile(t, dir, "trailing.pem", append(bytes.Clone(goodPEM), "junk"...))
	twoKeys := writeFile(t, dir, "two.pem", append(bytes.Clone(goodPEM), goodPEM...))
	headers := writeFile(t, dir, "headers.pem", pem.EncodeToMemory(&pem.Block{
		Type:    "PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"},
		Bytes:   []byte("junk"),
	}))
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name    string
		private string
		extra   []string
	}{
		{"missing private", missing, nil},
		{"missing extra", good, []string{missing}},
		{"garbage", garbage, nil},
		{"bad DER", badDER, nil},
		{"ECDSA private", ecPriv, nil},
		{"ECDSA extra", good, []string{ecPub}},
		{"public as private", goodPub, nil},
		{"private as extra", good, []string{good}},
		{"trailing data", trailing, nil},
		{"two blocks", twoKeys, nil},
		{"PEM headers", headers, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ks, err := LoadKeySet(tc.private, tc.extra); err == nil {
				t.Errorf("LoadKeySet = %v, want an error", ks)
			}
		})
	}
}

func TestNewKeySetErrors(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeySet(priv[:10]); err == nil {
		t.Error("NewKeySet accepted a short private key")
	}
	if _, err := NewKeySet(priv, ed25519.PublicKey{1, 2, 3}); err == nil {
		t.Error("NewKeySet accepted a short public key")
	}
}
