package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret (Standard Webhooks §"Symmetric
// Signatures": whsec_ and the base64 of 24 to 64 random bytes).
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key.
const secretBytes = 32

// ErrBadSecret is returned for a secret that is not whsec_ and base64.
var ErrBadSecret = errors.New("webhooks: malformed secret")

// NewSecret returns a new whsec_ secret.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign returns the v1 signature of a delivery:
// v1,base64(HMAC-SHA256(key, id "." timestamp "." body)), the timestamp in
// Unix seconds.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignatureHeader returns the webhook-signature value: the signature with
// each secret, space-separated, skipping empty secrets. During a rotation
// both the new and the previous secret sign, so receivers that know either
// accept the delivery.
func SignatureHeader(id string, timestamp int64, body []byte, secrets ...string) (string, error) {
	var sigs []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		sig, err := Sign(s, id, timestamp, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Verify reports whether header (a webhook-signature value) holds a v1
// signature of the delivery made with secret. Receivers written in Go may
// use it; Lightr's tests do.
func Verify(secret, id string, timestamp int64, body []byte, header string) bool {
	want, err := Sign(secret, id, timestamp, body)
	if err != nil {
		return false
	}
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
