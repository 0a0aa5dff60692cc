package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password errors.
var (
	// ErrEmptyPassword is returned for an empty password.
	ErrEmptyPassword = errors.New("auth: empty password")

	// ErrPasswordTooLong is returned for a password longer than
	// MaxPasswordLen bytes.
	ErrPasswordTooLong = errors.New("auth: password too long")

	// ErrMalformedHash is returned, wrapped, for a stored hash that is not
	// an argon2id PHC string this package can check.
	ErrMalformedHash = errors.New("auth: malformed password hash")
)

// MaxPasswordLen is the longest password accepted, in bytes. It is far
// beyond any passphrase and keeps requests from feeding megabytes to the
// hash.
const MaxPasswordLen = 1024

// Argon2Params are argon2id cost parameters (RFC 9106).
type Argon2Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32

	// Time is the number of passes over the memory.
	Time uint32

	// Threads is the degree of parallelism.
	Threads uint8

	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32

	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// PasswordParams are the parameters [HashPassword] uses for new hashes: 64
// MiB of memory, 2 passes, 2 lanes, a 16-byte salt and a 32-byte hash. That
// is above the OWASP minimum for argon2id (19 MiB, 2 passes) and takes about
// a tenth of a second on a small virtual machine.
//
// Each hash records its own parameters, so changing these later does not
// break stored hashes; [NeedsRehash] then reports the old ones so they can be
// upgraded at the next successful login. Set PasswordParams only at start-up,
// before any hashing; tests may lower it to run faster.
var PasswordParams = Argon2Params{
	Memory:  64 * 1024,
	Time:    2,
	Threads: 2,
	SaltLen: 16,
	KeyLen:  32,
}

// Bounds on the parameters read from a stored hash. They sit far above any
// sensible setting and only stop a corrupt or hostile hash string from making
// one check take gigabytes of memory or minutes of CPU.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 64
	minSalt    = 8 // the PHC string format's minimum
	maxSalt    = 64
	minKey     = 16
	maxKey     = 64
	phcVersion = argon2.Version
)

// argonSlots limits the number of argon2 computations running at once to the
// number of CPUs. Each computation holds Memory KiB (64 MiB by default) until
// it returns, so without a limit a flood of logins would allocate without
// bound and could take the process down; with it, argon2 never holds more
// than NumCPU × Memory, and extra logins wait for a slot. More parallel
// computations than CPUs would not finish sooner anyway.
var argonSlots = make(chan struct{}, runtime.NumCPU())

// idKey runs argon2id within the concurrency limit of argonSlots.
func idKey(pw string, salt []byte, p Argon2Params) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// HashPassword hashes pw with argon2id and [PasswordParams] and returns it in
// the PHC string format:
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// where salt and hash are unpadded standard base64. It refuses empty
// passwords and passwords over [MaxPasswordLen] bytes. It may block while
// other hashes are computed; see [PasswordParams].
func HashPassword(pw string) (string, error) {
	if err := checkPasswordLen(pw); err != nil {
		return "", err
	}
	p := PasswordParams
	if err := p.check(); err != nil {
		return "", fmt.Errorf("auth: PasswordParams: %w", err)
	}

	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // Never fails; see crypto/rand.Read.
	key := idKey(pw, salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", phcVersion,
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash, a PHC string from
// [HashPassword]. The cost parameters are read from hash, and the final
// comparison takes constant time.
//
// A wrong password returns false and a nil error. An error means the check
// could not be made: the hash is malformed ([ErrMalformedHash]), or pw is
// empty ([ErrEmptyPassword]) or too long ([ErrPasswordTooLong]); the last two
// are the user's fault and should be answered like a wrong password.
func CheckPassword(hash, pw string) (ok bool, err error) {
	p, salt, want, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if err := checkPasswordLen(pw); err != nil {
		return false, err
	}
	got := idKey(pw, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than the
// current [PasswordParams], or cannot be parsed. Call it after a successful
// [CheckPassword] and, if it returns true, store a fresh [HashPassword] of
// the password the user just typed.
func NeedsRehash(hash string) bool {
	p, _, _, err := parsePHC(hash)
	if err != nil {
		return true
	}
	return p != PasswordParams
}

// unambiguous is the alphabet of GeneratePassword: letters and digits without
// the look-alikes 0/O/o, 1/l/I.
const unambiguous = "abcdefghijkmnpqrstuvwxyz" + "ABCDEFGHJKLMNPQRSTUVWXYZ" + "23456789"

// generatedLen is the length of a generated password. With 56 symbols that
// is about 116 bits of entropy.
const generatedLen = 20

// GeneratePassword returns a random 20-character password drawn uniformly
// from letters and digits that cannot be mistaken for one another, for
// initial or reset passwords that a person has to read and type.
func GeneratePassword() string {
	// Reject bytes at or above the largest multiple of the alphabet size, so
	// every symbol is equally likely.
	const limit = 256 - 256%len(unambiguous)
	out := make([]byte, 0, generatedLen)
	var buf [32]byte
	for len(out) < generatedLen {
		rand.Read(buf[:]) // Never fails; see crypto/rand.Read.
		for _, b := range buf {
			if int(b) < limit && len(out) < generatedLen {
				out = append(out, unambiguous[int(b)%len(unambiguous)])
			}
		}
	}
	return string(out)
}

// checkPasswordLen enforces the password length limits.
func checkPasswordLen(pw string) error {
	switch {
	case pw == "":
		return ErrEmptyPassword
	case len(pw) > MaxPasswordLen:
		return ErrPasswordTooLong
	}
	return nil
}

// check reports whether p is within the bounds this package will compute.
func (p Argon2Params) check() error {
	switch {
	case p.Memory == 0 || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB not in [1, %d]", p.Memory, maxMemory)
	case p.Memory < 8*uint32(p.Threads):
		// RFC 9106 §3.1: at least 8 KiB per lane.
		return fmt.Errorf("memory %d KiB is below 8 KiB per thread", p.Memory)
	case p.Time == 0 || p.Time > maxTime:
		return fmt.Errorf("time %d not in [1, %d]", p.Time, maxTime)
	case p.Threads == 0:
		return errors.New("threads must be at least 1")
	case p.SaltLen < minSalt || p.SaltLen > maxSalt:
		return fmt.Errorf("salt length %d not in [%d, %d]", p.SaltLen, minSalt, maxSalt)
	case p.KeyLen < minKey || p.KeyLen > maxKey:
		return fmt.Errorf("key length %d not in [%d, %d]", p.KeyLen, minKey, maxKey)
	}
	return nil
}

// parsePHC splits an argon2id PHC string into its parameters, salt and hash.
// It accepts exactly the form HashPassword writes: version 19, parameters in
// the order m, t, p, and unpadded standard base64.
func parsePHC(s string) (p Argon2Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil,
			fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
	}

	// "$argon2id$v=19$m=65536,t=2,p=2$salt$hash" splits into six fields, the
	// first one empty.
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return fail("want 5 $-separated fields")
	}
	// The messages below never quote the hash: errors end up in logs, and a
	// hash can be cracked offline.
	if f[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(phcVersion) {
		return fail("unsupported version")
	}

	// Parameters come in the order m, t, p, as in the reference
	// implementation.
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return fail("want parameters m, t, p")
	}
	names := [3]string{"m", "t", "p"}
	var vals [3]uint64
	for i, kv := range params {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name != names[i] {
			return fail("want parameters m, t, p")
		}
		vals[i], err = strconv.ParseUint(val, 10, 32)
		if err != nil {
			return fail("parameter %s is not a number", name)
		}
	}
	if vals[2] > 255 {
		return fail("parameter p out of range")
	}

	enc := base64.RawStdEncoding.Strict()
	salt, err = enc.DecodeString(f[4])
	if err != nil {
		return fail("salt is not base64")
	}
	key, err = enc.DecodeString(f[5])
	if err != nil {
		return fail("hash is not base64")
	}

	p = Argon2Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.check(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}
