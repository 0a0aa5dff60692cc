package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Algorithm names as stored on a DKIMKey and used in the k= tag.
const (
	RSA     = "rsa"
	Ed25519 = "ed25519"
)

// ErrUnsupported is returned for an unknown algorithm or key size.
var ErrUnsupported = errors.New("dkim: unsupported key")

// Key is a generated key pair in storable form.
type Key struct {
	Algorithm  string
	PrivateDER []byte // PKCS#8
	// PublicB64 is the p= value: base64 of the SubjectPublicKeyInfo for RSA
	// (RFC 6376 §3.6.1), of the raw 32-byte key for Ed25519 (RFC 8463 §4.2).
	PublicB64 string
}

// String keeps the private key out of logs and %v.
func (k Key) String() string { return "dkim.Key{" + k.Algorithm + "}" }

// Generate makes a new key. bits applies to RSA only: 1024 is accepted for
// old DNS providers, 2048 is the sensible default (RFC 8301 §3.2).
func Generate(algorithm string, bits int) (*Key, error) {
	var (
		priv crypto.Signer
		pub  []byte
		err  error
	)
	switch algorithm {
	case RSA:
		if bits < 1024 || bits > 4096 {
			return nil, fmt.Errorf("%w: RSA needs 1024 to 4096 bits, not %d", ErrUnsupported, bits)
		}
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, bits); err != nil {
			return nil, err
		}
		priv = k
		if pub, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
			return nil, err
		}
	case Ed25519:
		var p ed25519.PublicKey
		if p, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
		pub = p
	default:
		return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupported, algorithm)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return &Key{Algorithm: algorithm, PrivateDER: der, PublicB64: base64.StdEncoding.EncodeToString(pub)}, nil
}

// ParsePrivate returns the signer stored in der.
func ParsePrivate(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupported, k)
	}
	return s, nil
}

// RecordName is the owner name of the key's TXT record.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + domain
}

// RecordValue is the TXT record value publishing a public key.
func RecordValue(algorithm, publicB64 string) string {
	return "v=DKIM1; k=" + algorithm + "; p=" + publicB64
}

// ZoneLine renders the record as a zone-file line, with the value split
// into strings of at most 255 octets as TXT requires (RFC 1035 §3.3.14).
func ZoneLine(selector, domain, algorithm, publicB64 string) string {
	v := RecordValue(algorithm, publicB64)
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	return RecordName(selector, domain) + ". IN TXT ( " + strings.Join(parts, " ") + " )"
}
