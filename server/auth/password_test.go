package auth

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fastParams keeps argon2 cheap in tests that are not about its cost.
var fastParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// setParams sets PasswordParams for the rest of the test.
func setParams(t *testing.T, p Argon2Params) {
	t.Helper()
	old := PasswordParams
	PasswordParams = p
	t.Cleanup(func() { PasswordParams = old })
}

// mustHash hashes pw or fails the test.
func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return h
}

// TestHashPasswordDefaults runs the production parameters once.
func TestHashPasswordDefaults(t *testing.T) {
	h := mustHash(t, "correct horse battery staple")
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=2` +
		`\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Errorf("hash %q does not match %s", h, re)
	}
	if ok, err := CheckPassword(h, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("CheckPassword(right) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := CheckPassword(h, "correct horse battery stapler"); ok || err != nil {
		t.Errorf("CheckPassword(wrong) = %v, %v; want false, nil", ok, err)
	}
	if NeedsRehash(h) {
		t.Error("NeedsRehash of a fresh hash = true")
	}
	if h2 := mustHash(t, "correct horse battery staple"); h2 == h {
		t.Error("two hashes of one password are equal; is the salt random?")
	}
}

// TestCheckPasswordVectors checks the PHC parsing against argon2id vectors
// from golang.org/x/crypto/argon2 (password "password", salt "somesalt").
func TestCheckPasswordVectors(t *testing.T) {
	tests := []string{
		"$argon2id$v=19$m=64,t=2,p=2$c29tZXNhbHQ$NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi",
		"$argon2id$v=19$m=256,t=3,p=2$c29tZXNhbHQ$RmjTCsQYfmh47t6s8P2DxaCjDbLMFu8L",
	}
	for _, h := range tests {
		if ok, err := CheckPassword(h, "password"); !ok || err != nil {
			t.Errorf("CheckPassword(%q, right) = %v, %v; want true, nil", h, ok, err)
		}
		if ok, err := CheckPassword(h, "Password"); ok || err != nil {
			t.Errorf("CheckPassword(%q, wrong) = %v, %v; want false, nil", h, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	setParams(t, fastParams)
	longest := strings.Repeat("x", MaxPasswordLen)
	hash := mustHash(t, "s3cret")
	longHash := mustHash(t, longest)

	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr error
	}{
		{"right", hash, "s3cret", true, nil},
		{"wrong", hash, "s3cret!", false, nil},
		{"case", hash, "S3cret", false, nil},
		{"longest", longHash, longest, true, nil},
		{"empty", hash, "", false, ErrEmptyPassword},
		{"too long", longHash, longest + "x", false, ErrPasswordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(tc.hash, tc.pw)
			if ok != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("CheckPassword = %v, %v; want %v, %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHQ"
		key  = "NQrDciL0Nsy1wJcvHr079rlYvyBxhBNi"
	)
	phc := func(alg, ver, params, salt, key string) string {
		return strings.Join([]string{"", alg, ver, params, salt, key}, "$")
	}
	tests := []struct {
		name string
		hash string
	}{
		{"empty", ""},
		{"plain text", "password"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"no leading $", phc("argon2id", "v=19", "m=64,t=2,p=2", salt, key)[1:]},
		{"trailing $", phc("argon2id", "v=19", "m=64,t=2,p=2", salt, key) + "$"},
		{"argon2i", phc("argon2i", "v=19", "m=64,t=2,p=2", salt, key)},
		{"version 16", phc("argon2id", "v=16", "m=64,t=2,p=2", salt, key)},
		{"no version", "$argon2id$m=64,t=2,p=2$" + salt + "$" + key},
		{"param order", phc("argon2id", "v=19", "t=2,m=64,p=2", salt, key)},
		{"extra param", phc("argon2id", "v=19", "m=64,t=2,p=2,keyid=x", salt, key)},
		{"missing param", phc("argon2id", "v=19", "m=64,t=2", salt, key)},
		{"m not a number", phc("argon2id", "v=19", "m=x,t=2,p=2", salt, key)},
		{"m negative", phc("argon2id", "v=19", "m=-64,t=2,p=2", salt, key)},
		{"m empty", phc("argon2id", "v=19", "m=,t=2,p=2", salt, key)},
		{"m zero", phc("argon2id", "v=19", "m=0,t=2,p=2", salt, key)},
		{"m huge", phc("argon2id", "v=19", "m=4294967295,t=2,p=2", salt, key)},
		{"m overflow", phc("argon2id", "v=19", "m=4294967296,t=2,p=2", salt, key)},
		{"m below 8p", phc("argon2id", "v=19", "m=8,t=2,p=2", salt, key)},
		{"t zero", phc("argon2id", "v=19", "m=64,t=0,p=2", salt, key)},
		{"t huge", phc("argon2id", "v=19", "m=64,t=1000000,p=2", salt, key)},
		{"p zero", phc("argon2id", "v=19", "m=64,t=2,p=0", salt, key)},
		{"p 256", phc("argon2id", "v=19", "m=4096,t=2,p=256", salt, key)},
		{"padded salt", phc("argon2id", "v=19", "m=64,t=2,p=2", salt+"=", key)},
		{"short salt", phc("argon2id", "v=19", "m=64,t=2,p=2", "c29tZQ", key)},
		{"bad salt", phc("argon2id", "v=19", "m=64,t=2,p=2", "!!!!", key)},
		{"short hash", phc("argon2id", "v=19", "m=64,t=2,p=2", salt, "c29tZXNhbHQ")},
		{"URL alphabet", phc("argon2id", "v=19", "m=64,t=2,p=2", salt,
			"NQrDciL0Nsy1wJcvHr079rlYvyBxhBN_")},
		{"empty hash", phc("argon2id", "v=19", "m=64,t=2,p=2", salt, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(tc.hash, "password")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("CheckPassword(%q) = %v, %v; want false, ErrMalformedHash",
					tc.hash, ok, err)
			}
			if !NeedsRehash(tc.hash) {
				t.Errorf("NeedsRehash(%q) = false, want true", tc.hash)
			}
		})
	}
}

func TestHashPasswordRefuses(t *testing.T) {
	tests := []struct {
		name    string
		params  Argon2Params
		pw      string
		wantErr error
	}{
		{"empty", fastParams, "", ErrEmptyPassword},
		{"too long", fastParams, strings.Repeat("x", MaxPasswordLen+1), ErrPasswordTooLong},
		{"no memory", Argon2Params{Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, "pw", nil},
		{"no time", Argon2Params{Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, "pw", nil},
		{"no threads", Argon2Params{Memory: 64, Time: 1, SaltLen: 16, KeyLen: 32}, "pw", nil},
		{"short salt", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
			"pw", nil},
		{"short key", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
			"pw", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setParams(t, tc.params)
			h, err := HashPassword(tc.pw)
			if err == nil {
				t.Fatalf("HashPassword = %q, want an error", h)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("HashPassword error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	setParams(t, fastParams)
	current := mustHash(t, "pw")
	tests := []struct {
		name   string
		params Argon2Params
		want   bool
	}{
		{"current", fastParams, false},
		{"memory", Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"time", Argon2Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"threads", Argon2Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		{"salt", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}, true},
		{"key", Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setParams(t, tc.params)
			if got := NeedsRehash(current); got != tc.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tc.want)
			}
			// An old hash keeps working after the parameters change.
			if ok, err := CheckPassword(current, "pw"); !ok || err != nil {
				t.Errorf("CheckPassword = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

// TestPasswordConcurrency runs more checks than there are CPUs at once; run
// with -race, it also checks that the semaphore is used safely.
func TestPasswordConcurrency(t *testing.T) {
	if got, want := cap(argonSlots), runtime.NumCPU(); got != want {
		t.Errorf("argon2 slots = %d, want NumCPU = %d", got, want)
	}
	setParams(t, fastParams)
	hash := mustHash(t, "pw")

	n := 4 * runtime.NumCPU()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			pw := "pw"
			if i%2 == 1 {
				pw = "wrong"
			}
			ok, err := CheckPassword(hash, pw)
			if err != nil || ok != (pw == "pw") {
				errs <- fmt.Errorf("CheckPassword(%q) = %v, %w", pw, ok, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(argonSlots) != 0 {
		t.Errorf("%d argon2 slots still held", len(argonSlots))
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		pw := GeneratePassword()
		if len(pw) != 20 {
			t.Errorf("GeneratePassword() = %q, want 20 characters", pw)
		}
		if i := strings.IndexFunc(pw, func(r rune) bool {
			return !strings.ContainsRune(unambiguous, r)
		}); i >= 0 {
			t.Errorf("GeneratePassword() = %q: %q is not in the alphabet", pw, pw[i])
		}
		if seen[pw] {
			t.Errorf("GeneratePassword() repeated %q", pw)
		}
		seen[pw] = true
	}
}

func TestUnambiguousAlphabet(t *testing.T) {
	if strings.ContainsAny(unambiguous, "0Oo1lI") {
		t.Errorf("alphabet %q holds a look-alike character", unambiguous)
	}
	seen := make(map[rune]bool)
	for _, r := range unambiguous {
		if seen[r] {
			t.Errorf("alphabet repeats %q", r)
		}
		seen[r] = true
	}
	if len(unambiguous) != 56 {
		t.Errorf("alphabet has %d symbols, want 56", len(unambiguous))
	}
}
