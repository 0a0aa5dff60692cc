package auth

import (
	"strings"
	"testing"
)

func TestNewAPIKey(t *testing.T) {
	secret, prefix, hash := NewAPIKey()

	if len(secret) != 55 || !strings.HasPrefix(secret, "lr_") {
		t.Errorf("secret %q: want lr_ and 52 base32 digits", secret)
	}
	if len(prefix) != 11 || !strings.HasPrefix(secret, prefix) {
		t.Errorf("prefix %q is not the first 11 characters of %q", prefix, secret)
	}
	if hash != HashAPIKey(secret) {
		t.Errorf("hash %q != HashAPIKey(secret) %q", hash, HashAPIKey(secret))
	}
	if !LooksLikeAPIKey(secret) {
		t.Errorf("LooksLikeAPIKey(%q) = false", secret)
	}
	if !CheckAPIKey(secret, hash) {
		t.Error("CheckAPIKey(secret, hash) = false")
	}

	// The 256 bits of a key fill 51.2 digits, so the last digit carries one
	// bit and must be 'a' (0) or 'q' (16).
	if last := secret[len(secret)-1]; last != 'a' && last != 'q' {
		t.Errorf("last digit %q, want a or q", last)
	}

	if other, _, _ := NewAPIKey(); other == secret {
		t.Error("two NewAPIKey calls returned the same key")
	}
}

func TestHashAPIKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// FIPS 180-2 SHA-256 test vector.
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tc := range tests {
		if got := HashAPIKey(tc.in); got != tc.want {
			t.Errorf("HashAPIKey(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCheckAPIKey(t *testing.T) {
	secret, _, hash := NewAPIKey()
	other, _, otherHash := NewAPIKey()
	tests := []struct {
		name         string
		secret, hash string
		want         bool
	}{
		{"match", secret, hash, true},
		{"other key", other, hash, false},
		{"other hash", secret, otherHash, false},
		{"upper-case hash", secret, strings.ToUpper(hash), false},
		{"empty hash", secret, "", false},
		{"empty secret", "", hash, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckAPIKey(tc.secret, tc.hash); got != tc.want {
				t.Errorf("CheckAPIKey = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLooksLikeAPIKey(t *testing.T) {
	digits := strings.Repeat("abcdefgh2345", 5)[:52]
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"key", "lr_" + digits, true},
		{"empty", "", false},
		{"prefix only", "lr_", false},
		{"short", "lr_" + digits[1:], false},
		{"long", "lr_" + digits + "a", false},
		{"upper case", "lr_" + strings.ToUpper(digits), false},
		{"digit 1", "lr_1" + digits[1:], false},
		{"digit 8", "lr_8" + digits[1:], false},
		{"padding", "lr_" + digits[:51] + "=", false},
		{"other prefix", "LR_" + digits, false},
		{"JWT", "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LooksLikeAPIKey(tc.in); got != tc.want {
				t.Errorf("LooksLikeAPIKey(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
