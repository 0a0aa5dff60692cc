// Package search evaluates an IMAP SEARCH (RFC 9051 §6.4.4), as go-imap
// parses it into an *imap.SearchCriteria, against the messages of a
// selected mailbox.
//
// # Cost
//
// A server calls Compile once per SEARCH command and Matcher.Match once per
// message. Compile resolves "*" and "$" and folds every search string
// once; Match evaluates the criteria that the message row answers
// (numbers, flags, dates, size, modseq) before any that need the
// message's bytes, and loads the header or the whole message only when an
// undecided criterion asks for it, at most once per message. Need tells
// the server up front which bytes a search can touch, so that it loads
// rows only, header blocks only, or whole messages. The buffers that hold
// decoded text are reused from one message to the next, so a body search
// of a large mailbox allocates little beyond what the server's Raw does.
//
// # Semantics and decisions
//
// Strings match as substrings, case-insensitively (RFC 9051 §6.4.4 asks
// for that within ASCII; we extend it to Unicode): both sides are mapped
// rune by rune to
// one representative of their Unicode simple case folding class, the
// equivalence that strings.EqualFold uses, so "STRASSE" matches
// "strasse" and "ΣΊΣΥΦΟΣ" matches "σίσυφος" (final sigma included), but
// "ß" does not match "ss" (that is full case folding). The empty string
// matches everything, except that HEADER with an empty string matches
// only the messages that have the field, as the RFC notes.
//
// HEADER, FROM, TO, CC, BCC and SUBJECT (go-imap turns the last five into
// Header entries) match the unfolded value of any top-level field of that
// name, with RFC 2047 encoded words decoded and 8-bit bytes that are not
// UTF-8 read as Windows-1252, as mail/message does. Address fields are
// matched as text: "FROM alice" finds the display name and the address.
//
// BODY matches the decoded text of the message's body: every text/* part
// that is not a Content-Disposition: attachment, at any depth, attached
// messages (message/rfc822) included with their header fields; the
// transfer encoding is undone and the charset converted to UTF-8. Other
// parts (images, PDFs, text files sent as attachments) are not searched:
// decoding them would cost more than it finds. HTML is searched as
// written, markup included. TEXT matches the top-level header fields
// ("Name: value", decoded) or what BODY matches. Each message contributes
// at most MaxTextBytes of decoded body text, and MIME nesting and part
// counts are bounded by mail/message's default Limits.
//
// BEFORE, ON and SINCE compare the calendar date of the internal date in
// the time zone of the time.Time the server passes (Lightr stores UTC)
// with the date of the criterion, ignoring times and zones as the RFC
// says. SENTBEFORE, SENTON and SENTSINCE do the same with the Date
// header, which the server passes as parsed, ideally in the header's own
// offset; a message without a Date header that parses matches none of
// them (and so matches their NOT).
//
// LARGER and SMALLER compare RFC822.SIZE. go-imap stores "no criterion"
// as 0, so SMALLER 0, which no message satisfies, reaches this package as
// no criterion at all.
//
// Flags and keywords compare case-insensitively. \Recent (RECENT, NEW,
// OLD in IMAP4rev1) is the Message's Recent bit, which a server that does
// not track it leaves false. MODSEQ (RFC 7162) compares the message's
// modseq; the entry name and type are ignored, since Lightr keeps one
// modseq per message.
package search
