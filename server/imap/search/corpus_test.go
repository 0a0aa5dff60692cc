package search_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/server/imap/search"
)

// sample is one message of the test mailbox: its bytes and the state a
// server would keep in its row.
type sample struct {
	raw      string
	flags    []imap.Flag
	internal time.Time
}

// crlf turns the LF line breaks of a literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// b64Lines encodes s in base64 lines of 76 characters.
func b64Lines(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	return b.String() + enc + "\n"
}

var est = time.FixedZone("EST", -5*3600)

// corpus is the test mailbox, in sequence order. Each message exercises
// one encoding or structure; their flags and dates differ so that every
// row criterion splits the set.
var corpus = []sample{
	{ // 1: plain ASCII, Date late in the evening west of UTC.
		raw: crlf("From: Alice Example <alice@example.org>\n" +
			"To: Bob <bob@example.net>\nCc: carol@example.com\n" +
			"Subject: Quarterly report\nDate: Mon, 1 Jan 2024 23:30:00 -0500\n" +
			"Message-ID: <q1@example.org>\n\n" +
			"Please find the numbers below.\nRevenue grew by a third.\n"),
		flags:    []imap.Flag{imap.FlagSeen},
		internal: time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC),
	},
	{ // 2: quoted-printable UTF-8 body, RFC 2047 Q subject.
		raw: crlf("From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.fr>\nTo: bob@example.net\n" +
			"Subject: =?UTF-8?Q?Caf=C3=A9_menu?=\nDate: Sat, 10 Feb 2024 12:00:00 +0100\n" +
			"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n" +
			"Content-Transfer-Encoding: quoted-printable\n\n" +
			"Cr=C3=A8me br=C3=BBl=C3=A9e is back. Soft=\nbreak word.\n"),
		flags:    []imap.Flag{imap.FlagFlagged, imap.FlagAnswered, imap.FlagImportant},
		internal: time.Date(2024, 2, 10, 23, 30, 0, 0, est),
	},
	{ // 3: base64 UTF-8 body, RFC 2047 B subject in ISO-8859-1.
		raw: crlf("From: Jürgen <j@example.de>\nTo: bob@example.net\n" +
			"Subject: =?ISO-8859-1?B?R3L832UgYXVzIEv2bG4=?=\n" +
			"Date: Sun, 11 Feb 2024 08:00:00 +0100\n" +
			"MIME-Version: 1.0\nContent-Type: text/plain; charset=\"UTF-8\"\n" +
			"Content-Transfer-Encoding: base64\n\n" +
			b64Lines("Ein Strasse-Fest in Köln. ΣΊΣΥΦΟΣ war auch da.\n")),
		flags:    []imap.Flag{imap.FlagDeleted},
		internal: time.Date(2024, 2, 11, 9, 0, 0, 0, time.UTC),
	},
	{ // 4: 8-bit ISO-8859-1 body.
		raw: crlf("From: chef@example.fr\nTo: bob@example.net\nSubject: Menu du jour\n" +
			"Date: Mon, 12 Feb 2024 11:00:00 +0100\nMIME-Version: 1.0\n" +
			"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" +
			"Le d\xe9jeuner est pr\xeat.\n"),
		flags:    []imap.Flag{imap.FlagDraft},
		internal: time.Date(2024, 2, 12, 12, 0, 0, 0, time.UTC),
	},
	{ // 5: multipart with text, HTML, a PDF and a text file attached.
		raw: crlf("From: billing@example.com\nTo: bob@example.net\nSubject: Your invoice\n" +
			"Date: Tue, 13 Feb 2024 09:00:00 +0000\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=\"outer\"\n\n" +
			"This is a multi-part message.\n" +
			"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
			"--inner\nContent-Type: text/plain; charset=us-ascii\n\nSee the attached invoice.\n" +
			"--inner\nContent-Type: text/html; charset=utf-8\n\n<p>Invoice <b>total</b>: 42 EUR</p>\n" +
			"--inner--\n" +
			"--outer\nContent-Type: application/pdf; name=\"invoice.pdf\"\n" +
			"Content-Disposition: attachment; filename=\"invoice.pdf\"\n" +
			"Content-Transfer-Encoding: base64\n\n" + b64Lines("%PDF-1.4 SECRETPDF") +
			"--outer\nContent-Type: text/plain; charset=us-ascii\n" +
			"Content-Disposition: attachment; filename=\"notes.txt\"\n\nhiddennote\n" +
			"--outer--\n"),
		flags:    []imap.Flag{"Work"},
		internal: time.Date(2024, 2, 13, 9, 0, 0, 0, time.UTC),
	},
	{ // 6: no Date header; a field with an empty value.
		raw: crlf("From: nodate@example.org\nTo: bob@example.net\nSubject: No date here\n" +
			"X-Priority: 1\nX-Empty:\n\nundated message\n"),
		internal: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
	},
	{ // 7: a forwarded message attached as message/rfc822.
		raw: crlf("From: fwd@example.org\nTo: bob@example.net\nSubject: Fwd: inner\n" +
			"Date: Fri, 1 Mar 2024 10:00:00 +0000\nMIME-Version: 1.0\n" +
			"Content-Type: multipart/mixed; boundary=b1\n\n" +
			"--b1\nContent-Type: text/plain\n\nForwarding this.\n" +
			"--b1\nContent-Type: message/rfc822\n\n" +
			"From: inner@example.org\nSubject: Inner subject\n\ninner body text\n" +
			"--b1--\n"),
		flags:    []imap.Flag{imap.FlagSeen, "$Forwarded"},
		internal: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
	},
}

// uids are the UIDs of the corpus in the unit tests: not contiguous, so
// that UID sets and sequence sets differ.
var uids = []imap.UID{3, 5, 8, 13, 21, 34, 55}

// corpusBounds are the Bounds of the unit tests' mailbox.
var corpusBounds = search.Bounds{MaxSeq: uint32(len(corpus)), MaxUID: uids[len(uids)-1]}

// newMessage builds the search.Message of sample s at sequence number
// seq with UID uid, as a server would from its row: Size is the real
// size, ModSeq and Recent are left to the caller.
func newMessage(tb testing.TB, s sample, seq uint32, uid imap.UID) *search.Message {
	tb.Helper()
	m := &search.Message{
		Seq: seq, UID: uid, InternalDate: s.internal, Size: int64(len(s.raw)),
		SentAt: message.Parse([]byte(s.raw), message.Limits{}).Date,
		Raw:    func() ([]byte, error) { return []byte(s.raw), nil },
	}
	for _, f := range s.flags {
		switch f {
		case imap.FlagSeen:
			m.Seen = true
		case imap.FlagAnswered:
			m.Answered = true
		case imap.FlagFlagged:
			m.Flagged = true
		case imap.FlagDeleted:
			m.Deleted = true
		case imap.FlagDraft:
			m.Draft = true
		default:
			m.Keywords = append(m.Keywords, string(f))
		}
	}
	return m
}

// matchAll returns the UIDs of msgs that c matches.
func matchAll(tb testing.TB, msgs []*search.Message, c *imap.SearchCriteria, b search.Bounds) []imap.UID {
	tb.Helper()
	mt := search.Compile(c, b)
	var out []imap.UID
	for _, m := range msgs {
		ok, err := mt.Match(m)
		if err != nil {
			tb.Fatalf("Match(uid %d): %v", m.UID, err)
		}
		if ok {
			out = append(out, m.UID)
		}
	}
	return out
}
