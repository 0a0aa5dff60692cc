package message

import (
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// maxListEntries bounds the entries kept from one address field.
const maxListEntries = 1000

// listEntry is one element of an address list: a mailbox, or a marker of
// the start (with the group's name) or end of a group (RFC 5322 §3.4).
type listEntry struct {
	addr       Address
	group      string
	start, end bool
}

// listScanner splits an address list at the commas, colons and semicolons
// that are outside quoted strings, comments and angle brackets.
type listScanner struct {
	out     []listEntry
	inGroup bool
	marked  bool // the open group has a start marker
}

// parseAddressList parses an address field leniently: each mailbox is
// parsed on its own (go-message's mail.ParseAddress, then a fallback), so
// one bad address does not lose the others, and groups are kept as
// markers for the IMAP envelope.
func parseAddressList(v string) []listEntry {
	var ls listScanner
	inQuote, inAngle, depth, start := false, false, 0, 0
	for i := 0; i < len(v) && len(ls.out) < maxListEntries; i++ {
		c := v[i]
		switch {
		case inQuote || depth > 0:
			switch {
			case c == '\\':
				i++
			case inQuote && c == '"':
				inQuote = false
			case !inQuote && c == '(':
				depth++
			case !inQuote && c == ')':
				depth--
			}
		case c == '"':
			inQuote = true
		case c == '(':
			depth++
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case inAngle:
		case c == ',':
			ls.mailbox(v[start:i])
			start = i + 1
		case c == ':' && !ls.inGroup:
			ls.openGroup(v[start:i])
			start = i + 1
		case c == ';' && ls.inGroup:
			ls.mailbox(v[start:i])
			ls.closeGroup()
			start = i + 1
		}
	}
	ls.mailbox(v[start:])
	ls.closeGroup()
	if len(ls.out) > maxListEntries {
		ls.out = ls.out[:maxListEntries]
	}
	return ls.out
}

func (ls *listScanner) openGroup(name string) {
	ls.inGroup = true
	name = decodeText(unquote(strings.TrimSpace(name)))
	ls.marked = name != ""
	if ls.marked {
		ls.out = append(ls.out, listEntry{group: name, start: true})
	}
}

func (ls *listScanner) closeGroup() {
	if ls.inGroup && ls.marked {
		ls.out = append(ls.out, listEntry{end: true})
	}
	ls.inGroup, ls.marked = false, false
}

func (ls *listScanner) mailbox(s string) {
	if a, ok := parseMailbox(s); ok {
		ls.out = append(ls.out, listEntry{addr: a})
	}
}

// parseMailbox parses one mailbox, falling back to the angle-bracketed
// address, or a bare word with an "@", when RFC 5322 parsing fails.
func parseMailbox(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	if a, err := gomail.ParseAddress(s); err == nil {
		return Address{Name: headerUTF8(a.Name), Email: headerUTF8(a.Address)}, true
	}
	var a Address
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		email, _, _ := strings.Cut(s[i+1:], ">")
		email = strings.TrimSpace(email)
		if strings.HasPrefix(email, "@") {
			// An obsolete source route (RFC 5322 §4.4): "@a,@b:user@host".
			if _, after, ok := strings.Cut(email, ":"); ok {
				email = after
			}
		}
		name := unquote(strings.TrimSpace(stripComments(s[:i])))
		a = Address{Name: decodeText(name), Email: headerUTF8(email)}
	} else {
		for _, w := range strings.Fields(s) {
			if strings.Contains(w, "@") {
				a.Email = headerUTF8(strings.Trim(w, "<>\"'(),;"))
				break
			}
		}
	}
	return a, strings.Contains(a.Email, "@")
}

// mailboxes returns the mailboxes of a list, without group markers.
func mailboxes(l []listEntry) []Address {
	var out []Address
	for _, e := range l {
		if !e.start && !e.end {
			out = append(out, e.addr)
		}
	}
	return out
}

// envelopeList converts a list for the IMAP envelope: a mailbox without
// a local part or a domain cannot be expressed there and is left out.
func envelopeList(l []listEntry) []EnvelopeAddress {
	var out []EnvelopeAddress
	for _, e := range l {
		switch {
		case e.start:
			out = append(out, EnvelopeAddress{Mailbox: e.group})
		case e.end:
			out = append(out, EnvelopeAddress{})
		default:
			i := strings.LastIndexByte(e.addr.Email, '@')
			if i <= 0 || i == len(e.addr.Email)-1 {
				continue
			}
			out = append(out, EnvelopeAddress{
				Name:    e.addr.Name,
				Mailbox: e.addr.Email[:i],
				Host:    e.addr.Email[i+1:],
			})
		}
	}
	return out
}

// dateLayouts are tried, after net/mail.ParseDate, on dates that real
// mailers write against RFC 5322 §3.3.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon, 2 Jan 2006 15:04:05",
	"2006-01-02 15:04:05 -0700",
	time.RFC3339,
}

// parseDate parses a Date field. The year must fit in four digits, so
// that the envelope's JSON encodes.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 200 {
		return time.Time{}, false
	}
	// The layout that nearly every mailer writes goes first: it saves
	// net/mail's walk through its list of layouts.
	t, err := time.Parse(dateLayouts[0], v)
	if err != nil {
		t, err = netmail.ParseDate(v)
	}
	if err != nil {
		clean := strings.Join(strings.Fields(stripComments(v)), " ")
		for _, layout := range dateLayouts {
			if t, err = time.Parse(layout, clean); err == nil {
				break
			}
		}
	}
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// stripComments removes parenthesized comments, as "(CET)" after a date.
func stripComments(v string) string {
	if !strings.Contains(v, "(") {
		return v
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// msgIDs returns the message ids of a Message-ID, In-Reply-To or
// References field without angle brackets (RFC 5322 §3.6.4), at most max.
// A field without brackets yields its first word.
func msgIDs(v string, maxIDs int) []string {
	var ids []string
	for len(ids) < maxIDs {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.Join(strings.Fields(v[i+1:i+j]), ""); id != "" {
			ids = append(ids, headerUTF8(id))
		}
		v = v[i+j+1:]
	}
	if len(ids) == 0 {
		if f := strings.Fields(v); len(f) > 0 {
			ids = append(ids, headerUTF8(strings.Trim(f[0], "<>")))
		}
	}
	return ids
}
