package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// PEM block types for the key files: PKCS #8 for private keys (RFC 5958)
// and PKIX SubjectPublicKeyInfo for public keys (RFC 5280), as written by
// "openssl genpkey -algorithm ed25519" and "openssl pkey -pubout".
const (
	pemPrivateKey = "PRIVATE KEY"
	pemPublicKey  = "PUBLIC KEY"
)

// KeySet holds the Ed25519 key that signs tenant tokens and every public key
// that verifies them. During a rotation the set also holds the previous key
// (until the longest-lived token it signed has expired) and the next one
// (published early so that JWKS caches pick it up before it signs).
//
// A KeySet is immutable once built and safe for concurrent use. It holds a
// private key, so it redacts itself when logged or printed.
type KeySet struct {
	signer ed25519.PrivateKey
	kid    string

	// keys maps a kid to its public key; it includes the signer's own key.
	keys map[string]ed25519.PublicKey

	// jwks is the JSON Web Key Set, rendered once because it never changes.
	jwks []byte

	// now is the clock for Verify; nil means time.Now. Tests replace it.
	now func() time.Time
}

// jwk is one entry of a JSON Web Key Set for an Ed25519 key (RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// GenerateKeyFile creates a new Ed25519 private key and writes it to path as
// a PKCS #8 PEM block with mode 0600. A missing parent directory is created
// with mode 0700. It refuses to overwrite an existing file, so a second
// "lightr init" cannot silently invalidate every token in circulation.
func GenerateKeyFile(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("auth: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("auth: encode key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der})

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("auth: create key directory: %w", err)
	}

	// O_EXCL makes the existence check and the creation one atomic step.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("auth: create key file: %w", err)
	}

	// The umask can only clear bits, but set the mode explicitly anyway so
	// the file is exactly 0600 whatever the process umask is.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Do not leave a truncated key behind for the next run to trip on.
		_ = os.Remove(path) // the write error below is the one that matters
		return fmt.Errorf("auth: write key file: %w", err)
	}
	return nil
}

// LoadKeySet reads the signing key from privatePath (a PKCS #8 "PRIVATE
// KEY" PEM file) and the public keys that are also accepted during a
// rotation from extraPublicPaths (PKIX "PUBLIC KEY" PEM files). Every key
// must be Ed25519.
func LoadKeySet(privatePath string, extraPublicPaths []string) (*KeySet, error) {
	priv, err := readPrivateKey(privatePath)
	if err != nil {
		return nil, err
	}
	extra := make([]ed25519.PublicKey, 0, len(extraPublicPaths))
	for _, p := range extraPublicPaths {
		pub, err := readPublicKey(p)
		if err != nil {
			return nil, err
		}
		extra = append(extra, pub)
	}
	return NewKeySet(priv, extra...)
}

// NewKeySet builds a KeySet from keys already in memory: priv signs new
// tokens, and tokens signed by priv or by any of extra are accepted. Keys in
// extra that repeat priv's public key or each other are ignored.
func NewKeySet(priv ed25519.PrivateKey, extra ...ed25519.PublicKey) (*KeySet, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("auth: signing key is not a valid Ed25519 private key")
	}
	for _, pub := range extra {
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("auth: extra key is not a valid Ed25519 public key")
		}
	}

	// Copy the key so the caller cannot change it under us.
	signer := ed25519.PrivateKey(bytes.Clone(priv))
	pub := signer.Public().(ed25519.PublicKey)
	ks := &KeySet{
		signer: signer,
		kid:    thumbprint(pub),
		keys:   make(map[string]ed25519.PublicKey, 1+len(extra)),
	}

	// The signer comes first in the JWK Set, then the extras in the order
	// given; the order is not significant to clients but keeps the output
	// stable.
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, p := range append([]ed25519.PublicKey{pub}, extra...) {
		kid := thumbprint(p)
		if _, dup := ks.keys[kid]; dup {
			continue
		}
		ks.keys[kid] = ed25519.PublicKey(bytes.Clone(p))
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(p),
			Kid: kid,
			Alg: "EdDSA",
			Use: "sig",
		})
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("auth: encode JWKS: %w", err)
	}
	ks.jwks = jwks
	return ks, nil
}

// KeyID returns the kid of the signing key: its RFC 7638 thumbprint.
func (ks *KeySet) KeyID() string { return ks.kid }

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of every public key the
// set accepts, ready to serve at /.well-known/jwks.json. Each key carries
// its kid, "alg":"EdDSA" and "use":"sig". The caller owns the returned
// slice.
func (ks *KeySet) JWKS() []byte { return bytes.Clone(ks.jwks) }

// PublicKeyPEM returns the signing key's public half as a PKIX "PUBLIC KEY"
// PEM block. Save it before rotating to a new signing key and list the file
// as an extra public key, so tokens signed by the old key stay valid until
// they expire.
func (ks *KeySet) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(ks.signer.Public())
	if err != nil {
		// Marshaling a well-formed Ed25519 key cannot fail.
		panic("auth: encode public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der})
}

// LogValue implements [slog.LogValuer]. A KeySet holds a private key, so it
// is always logged as "[redacted]".
func (*KeySet) LogValue() slog.Value { return slog.StringValue(redacted) }

// String implements [fmt.Stringer] so that printing a KeySet with %v does
// not dump the private key.
func (*KeySet) String() string { return redacted }

// GoString implements [fmt.GoStringer] so that printing a KeySet with %#v
// does not dump the private key.
func (*KeySet) GoString() string { return redacted }

// thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key:
// the unpadded base64url SHA-256 of the key's required members in
// lexicographic order with no whitespace (RFC 7638 §3.2, RFC 8037 §2). The
// x value is base64url, so it needs no JSON escaping.
func thumbprint(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// readPrivateKey reads an Ed25519 private key from a PKCS #8 PEM file.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, pemPrivateKey)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s: %T is not an Ed25519 private key", path, key)
	}
	return priv, nil
}

// readPublicKey reads an Ed25519 public key from a PKIX PEM file.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, pemPublicKey)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s: %T is not an Ed25519 public key", path, key)
	}
	return pub, nil
}

// readPEM returns the contents of the single PEM block of type typ in the
// file at path. Anything else in the file is an error, so that a bundle of
// keys is not half-read without notice.
func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read key: %w", err)
	}
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("auth: %s: no PEM block found", path)
	case block.Type != typ:
		return nil, fmt.Errorf("auth: %s: PEM block is %q, want %q", path, block.Type, typ)
	case len(block.Headers) != 0:
		return nil, fmt.Errorf("auth: %s: encrypted or annotated PEM is not supported", path)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, fmt.Errorf("auth: %s: unexpected data after the PEM block", path)
	}
	return block.Bytes, nil
}
