package directory

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// InputError is a problem with caller-supplied data. The API reports it
// as BAD_USER_INPUT, naming Field.
type InputError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func inputErr(field, format string, a ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// ErrInvalidAddress is wrapped by address parsing errors.
var ErrInvalidAddress = errors.New("directory: invalid address")

// NormalizeDomain returns name as Lightr stores it: lower case, ASCII
// (IDNA A-labels), without a trailing dot. It refuses names that are not
// valid host names of at least two labels (RFC 1123 §2.1, RFC 5321 §2.3.5).
func NormalizeDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("%w: domain %q: %w", ErrInvalidAddress, name, err)
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > 253 {
		return "", fmt.Errorf("%w: domain longer than 253 characters", ErrInvalidAddress)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: domain %q needs at least two labels", ErrInvalidAddress, ascii)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Errorf("%w: domain %q has an invalid label %q", ErrInvalidAddress, ascii, l)
		}
	}
	return ascii, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		letter := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
		if !letter {
			return false
		}
	}
	return true
}

// atext lists the specials allowed in an RFC 5322 dot-atom (§3.2.3), less
// '+', which Lightr reserves for subaddresses (user+tag@domain).
const atext = "!#$%&'*/=?^_`{|}~-"

// NormalizeLocalPart returns the local part of a hosted address in the
// form Lightr stores it: a lower-case dot-atom of at most 64 octets
// (RFC 5321 §4.5.3.1.1) without '+'.
func NormalizeLocalPart(lp string) (string, error) {
	lp = strings.ToLower(strings.TrimSpace(lp))
	if lp == "" || len(lp) > 64 {
		return "", fmt.Errorf("%w: local part must be 1 to 64 characters", ErrInvalidAddress)
	}
	if lp[0] == '.' || lp[len(lp)-1] == '.' || strings.Contains(lp, "..") {
		return "", fmt.Errorf("%w: local part %q has a misplaced dot", ErrInvalidAddress, lp)
	}
	for i := 0; i < len(lp); i++ {
		c := lp[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' ||
			strings.IndexByte(atext, c) >= 0
		if !ok {
			return "", fmt.Errorf("%w: local part %q may not contain %q", ErrInvalidAddress, lp, c)
		}
	}
	return lp, nil
}

// SplitAddress splits addr at its last '@' into a normalized local part
// and domain.
func SplitAddress(addr string) (local, domain string, err error) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q is not local@domain", ErrInvalidAddress, addr)
	}
	if local, err = NormalizeLocalPart(addr[:i]); err != nil {
		return "", "", err
	}
	if domain, err = NormalizeDomain(addr[i+1:]); err != nil {
		return "", "", err
	}
	return local, domain, nil
}
