package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// Errors of Sign and NewSigningKey.
var (
	// ErrNoKey is returned by Sign without keys: a caller that has none
	// must decide to send unsigned itself, never by accident.
	ErrNoKey = errors.New("dkim: no signing key")
	// ErrMalformed is returned for a message that cannot be signed as it
	// stands: no From field, a header line that is not a field, a bare CR.
	ErrMalformed = errors.New("dkim: malformed message")
)

// minRSABits is the smallest RSA key that verifiers accept (RFC 8301 §3.2).
const minRSABits = 1024

// signedFields are the header fields signed when present, in the order of
// RFC 6376 §5.4.1, followed by those of RFC 8058 §4 (one-click
// unsubscribe) and the fields that decide how the body is read. Return-Path,
// Received and the like are left out: relays add and rewrite them.
var signedFields = []string{
	"From", "Sender", "Reply-To", "Subject", "Date", "To", "Cc",
	"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
	"In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe",
	"List-Post", "List-Owner", "List-Archive",
	"Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// overSigned are the fields that RFC 5322 §3.6 allows once. Each is listed
// in h= once more than it occurs, so that a copy added on the way (a second
// From or Subject that a reader would be shown) breaks the signature
// (RFC 6376 §8.15).
var overSigned = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "subject": true, "date": true,
	"to": true, "cc": true, "in-reply-to": true, "references": true, "message-id": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"list-unsubscribe": true, "list-unsubscribe-post": true,
}

// SigningKey is a domain's private key ready to sign with. Make one with
// NewSigningKey; the zero value does not sign. The private key is never
// printed or logged: String, GoString and LogValue leave it out.
type SigningKey struct {
	Domain    string // d=, the domain the record is published under
	Selector  string // s=
	Algorithm string // RSA or Ed25519
	signer    crypto.Signer
}

// NewSigningKey parses privateDER, a PKCS#8 key as stored on a DKIMKey,
// and checks that it is an algorithm key that verifiers accept.
func NewSigningKey(domain, selector, algorithm string, privateDER []byte) (SigningKey, error) {
	s, err := ParsePrivate(privateDER)
	if err != nil {
		return SigningKey{}, err
	}
	k := SigningKey{Domain: domain, Selector: selector, Algorithm: algorithm, signer: s}
	if err := k.check(); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}

// String names the key without its secret.
func (k SigningKey) String() string {
	return "dkim.SigningKey{" + k.Algorithm + " " + RecordName(k.Selector, k.Domain) + "}"
}

// GoString keeps the private key out of %#v.
func (k SigningKey) GoString() string { return k.String() }

// ID names k among a domain's keys: its selector and a fingerprint of its
// public key ("s1:3fa2c41b09de"), so that a key replaced under the same
// selector has another ID. It is empty for a key that cannot sign.
func (k SigningKey) ID() string {
	if k.signer == nil {
		return ""
	}
	der, err := x509.MarshalPKIXPublicKey(k.signer.Public())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return k.Selector + ":" + hex.EncodeToString(sum[:6])
}

// LogValue implements slog.LogValuer: the domain, selector and algorithm,
// never the key.
func (k SigningKey) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("domain", k.Domain),
		slog.String("selector", k.Selector),
		slog.String("algorithm", k.Algorithm))
}

// check reports why k cannot sign, if it cannot.
func (k SigningKey) check() error {
	if !validName(k.Domain) || !validName(k.Selector) {
		return fmt.Errorf("%w: domain %q, selector %q", ErrUnsupported, k.Domain, k.Selector)
	}
	if k.signer == nil {
		return fmt.Errorf("%w: no private key", ErrUnsupported)
	}
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		if k.Algorithm != RSA {
			return fmt.Errorf("%w: an RSA key stored as %q", ErrUnsupported, k.Algorithm)
		}
		if pub.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: RSA key of %d bits", ErrUnsupported, pub.N.BitLen())
		}
	case ed25519.PublicKey:
		if k.Algorithm != Ed25519 {
			return fmt.Errorf("%w: an Ed25519 key stored as %q", ErrUnsupported, k.Algorithm)
		}
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, pub)
	}
	return nil
}

// validName reports whether s can go into a d= or s= tag: a non-empty
// dot-separated name in ASCII letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Sign returns raw with one DKIM-Signature field per key prepended, in the
// order of keys: a domain signs with rsa-sha256 and may add an
// ed25519-sha256 signature (RFC 8463 §3). Signatures are relaxed/relaxed,
// carry t= (the time of signing) and no l=: the whole body is signed. They
// cover the fields of signedFields that the message has, From always, with
// the single-instance fields over-signed.
//
// The message is returned in the form it must be sent in: bare LFs become
// CRLF, and a missing final CRLF (or the empty line of a message without a
// body) is added; neither changes what relaxed canonicalization hashes.
//
// Sign fails, and returns no message, when keys is empty, when any key
// cannot sign, or when the message has no From field or a malformed header:
// a message of a domain with a key is never sent unsigned.
func Sign(raw []byte, keys []SigningKey) ([]byte, error) {
	sigs, msg, err := Signatures(raw, keys)
	if err != nil {
		return nil, err
	}
	return append(sigs, msg...), nil
}

// Signatures is Sign with its result in two parts: the DKIM-Signature
// fields, each with its CRLF, and the message they sign, in the form it
// must be sent in. Sending sigs and then msg is sending what Sign returns,
// so the fields can be made once, kept apart, and sent before the same
// bytes later.
func Signatures(raw []byte, keys []SigningKey) (sigs, msg []byte, err error) {
	if len(keys) == 0 {
		return nil, nil, ErrNoKey
	}
	msg, names, err := prepare(raw)
	if err != nil {
		return nil, nil, err
	}
	fields, err := headerKeys(names)
	if err != nil {
		return nil, nil, err
	}

	out := make([]string, len(keys))
	size := len(msg)
	for i, k := range keys {
		if out[i], err = k.sign(msg, fields); err != nil {
			return nil, nil, fmt.Errorf("sign with the %s key %s: %w",
				k.Algorithm, RecordName(k.Selector, k.Domain), err)
		}
		size += len(out[i])
	}
	// Room for msg too, so that Sign appends it without copying twice.
	sigs = make([]byte, 0, size)
	for _, s := range out {
		sigs = append(sigs, s...)
	}
	return sigs, msg, nil
}

// sign returns the DKIM-Signature field, with its CRLF, of k over msg.
func (k SigningKey) sign(msg []byte, fields []string) (string, error) {
	if err := k.check(); err != nil {
		return "", err
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 k.Domain,
		Selector:               k.Selector,
		Signer:                 k.signer,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             fields,
	})
	if err != nil {
		return "", err
	}
	if _, err := s.Write(msg); err != nil {
		_ = s.Close()
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	return s.Signature(), nil
}

// prepare returns raw with CRLF line ends, a final CRLF and the empty line
// that ends the header, and the names of its header fields in order.
func prepare(raw []byte) ([]byte, []string, error) {
	msg := make([]byte, 0, len(raw)+64)
	var names []string
	inHeader := true
	for len(raw) > 0 {
		line := raw
		next := []byte(nil)
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, next = raw[:i], raw[i+1:]
		}
		raw = next
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.IndexByte(line, '\r') >= 0 {
			return nil, nil, fmt.Errorf("%w: bare CR", ErrMalformed)
		}

		if inHeader {
			switch {
			case len(line) == 0:
				inHeader = false
			case line[0] == ' ' || line[0] == '\t':
				if len(names) == 0 {
					return nil, nil, fmt.Errorf("%w: header starts with a continuation line", ErrMalformed)
				}
			default:
				name, ok := fieldName(line)
				if !ok {
					return nil, nil, fmt.Errorf("%w: header line %.40q is not a field", ErrMalformed, line)
				}
				names = append(names, name)
			}
		}
		msg = append(msg, line...)
		msg = append(msg, '\r', '\n')
	}
	if inHeader {
		// A message of header fields only: the empty line makes its end
		// explicit to every reader of the header (RFC 5322 §3.5).
		msg = append(msg, '\r', '\n')
	}
	return msg, names, nil
}

// fieldName returns the name of the field that line starts, and whether it
// is a field at all: printable ASCII but the colon, then optional white
// space (the obsolete syntax of RFC 5322 §4.5), then the colon.
func fieldName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return "", false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return "", false
		}
	}
	return string(name), true
}

// headerKeys returns the h= list for a header with the given field names:
// each field of signedFields as often as it occurs, once more for
// overSigned ones.
func headerKeys(names []string) ([]string, error) {
	count := make(map[string]int, len(names))
	for _, n := range names {
		count[strings.ToLower(n)]++
	}
	if count["from"] == 0 {
		return nil, fmt.Errorf("%w: no From field", ErrMalformed)
	}
	var keys []string
	for _, f := range signedFields {
		n := count[strings.ToLower(f)]
		if n > 0 && overSigned[strings.ToLower(f)] {
			n++
		}
		for range n {
			keys = append(keys, f)
		}
	}
	return keys, nil
}
