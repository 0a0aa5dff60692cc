package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// APIKeyPrefix starts every API key. It tells an API key apart from a JWT
// (which starts with "eyJ") and makes leaked keys easy to find with secret
// scanners.
const APIKeyPrefix = "lr_"

// API key layout.
const (
	// apiKeyBytes is the number of random bytes in a key: 256 bits.
	apiKeyBytes = 32

	// apiKeyLen is the length of a key: the prefix plus 52 base32 digits.
	apiKeyLen = len(APIKeyPrefix) + (apiKeyBytes*8+4)/5

	// apiKeyShownLen is how much of a key is kept in clear for listings:
	// the prefix and 8 digits (40 bits), enough to tell keys apart and far
	// too little to help guess the rest.
	apiKeyShownLen = len(APIKeyPrefix) + 8
)

// apiKeyAlphabet is lower-case RFC 4648 base32: case-insensitive systems
// cannot mangle it, and it has no characters that need URL escaping.
const apiKeyAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var apiKeyEncoding = base32.NewEncoding(apiKeyAlphabet).WithPadding(base32.NoPadding)

// NewAPIKey creates an API key. secret is shown to the user once and never
// stored; prefix (the first 11 characters, such as "lr_abcdefgh") is stored
// and shown in key listings; hash, from [HashAPIKey], is stored and used to
// look the key up.
//
// The hash is a single SHA-256, not a password hash. Slow hashes such as
// argon2 exist to make guessing low-entropy, human-chosen passwords
// expensive. An API key holds 256 uniformly random bits, so there is nothing
// to guess: inverting SHA-256 on such an input is infeasible however fast the
// hash is. A fast, unsalted hash also lets the database find a key by an
// indexed lookup on every request, without paying (or letting an attacker
// make us pay) an argon2 computation per call.
func NewAPIKey() (secret, prefix, hash string) {
	var b [apiKeyBytes]byte
	rand.Read(b[:]) // Never fails; see crypto/rand.Read.
	secret = APIKeyPrefix + apiKeyEncoding.EncodeToString(b[:])
	return secret, secret[:apiKeyShownLen], HashAPIKey(secret)
}

// HashAPIKey returns the lower-case hex SHA-256 of an API key, the form in
// which keys are stored and looked up.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CheckAPIKey reports whether secret hashes to hash, comparing in constant
// time. Use it where a key is checked against one known hash (such as the
// admin key from configuration) rather than found by a hash lookup.
func CheckAPIKey(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashAPIKey(secret)), []byte(hash)) == 1
}

// LooksLikeAPIKey reports whether s has the shape of an API key: the prefix
// followed by 52 lower-case base32 digits. It lets the HTTP layer route a
// bearer credential to API-key or JWT verification; it says nothing about
// whether the key exists.
func LooksLikeAPIKey(s string) bool {
	if len(s) != apiKeyLen || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	for _, c := range s[len(APIKeyPrefix):] {
		if !strings.ContainsRune(apiKeyAlphabet, c) {
			return false
		}
	}
	return true
}
