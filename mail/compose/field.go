package compose

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxFieldBytes bounds the value of a caller's header field: RFC 5322
// §2.1.1 limits a line to 998 characters, and a longer value would need
// folding the caller did not ask for.
const MaxFieldBytes = 998

// reserved are the fields that Lightr writes itself, from the request's
// own inputs or on the way out, lower case. A caller setting one could
// contradict the envelope, the MIME structure or the trace.
var reserved = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true,
	"reply-to": true, "subject": true, "date": true, "message-id": true,
	"mime-version": true, "received": true, "return-path": true,
	"dkim-signature": true, "authentication-results": true,
	"received-spf": true, "delivered-to": true,
}

// reservedPrefixes are families of reserved fields (RFC 2045 Content-*,
// RFC 5322 §3.6.6 Resent-*, RFC 8617 ARC-*).
var reservedPrefixes = []string{"content-", "resent-", "arc-"}

// CheckField refuses a header field the caller may not set: a name that
// is not RFC 5322 printable ASCII without a colon, a field Lightr owns,
// or a value with a line break or a control character (header injection)
// or longer than MaxFieldBytes.
func CheckField(name, value string) error {
	if name == "" || len(name) > 76 || strings.ContainsFunc(name, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == ':'
	}) {
		return fmt.Errorf("%w: header name %q", ErrInvalid, name)
	}
	low := strings.ToLower(name)
	if reserved[low] {
		return fmt.Errorf("%w: header %s is set by Lightr", ErrInvalid, name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(low, p) {
			return fmt.Errorf("%w: header %s is set by Lightr", ErrInvalid, name)
		}
	}
	if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool {
		return r != '\t' && isControl(r)
	}) {
		return fmt.Errorf("%w: header %s: a value with a line break or a control character", ErrInvalid, name)
	}
	if len(value) > MaxFieldBytes {
		return fmt.Errorf("%w: header %s: longer than %d bytes", ErrInvalid, name, MaxFieldBytes)
	}
	return nil
}
