package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// checkPath reports whether addr, a path go-smtp has already split into
// local part and domain, is one Lightr can record and answer: the local
// part within RFC 5321 §4.5.3.1.1's 64 octets and free of control
// characters, the domain a host name (UTF-8 allowed, for SMTPUTF8) or an
// address literal (§4.1.3). It returns the address with its domain in
// ASCII (IDNA A-labels), the form the directory stores.
//
// This is deliberately looser than the rules for hosted addresses
// (directory.NormalizeLocalPart): a foreign sender's local part may hold
// '+', quoted characters or UTF-8, and an MX must not refuse that.
func checkPath(addr string) (string, bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", false
	}
	local, domain := addr[:i], addr[i+1:]
	if len(local) > 64 || !utf8.ValidString(local) || hasControl(local) {
		return "", false
	}
	if strings.HasPrefix(domain, "[") {
		return addr, addressLiteral(domain)
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || len(ascii) > 253 || !strings.Contains(ascii, ".") && ascii != "localhost" {
		return "", false
	}
	return local + "@" + strings.ToLower(ascii), true
}

// addressLiteral accepts [192.0.2.1] and [IPv6:2001:db8::1].
func addressLiteral(d string) bool {
	if !strings.HasSuffix(d, "]") {
		return false
	}
	inner := d[1 : len(d)-1]
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		return err == nil && a.Is6()
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
