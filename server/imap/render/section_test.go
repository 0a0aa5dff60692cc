package render_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/server/imap/render"
)

// partPaths returns the section paths of every part of the message, as
// Walk reports them, without repeats, and two that name no part.
func partPaths(root *message.Part) [][]int {
	seen := map[string]bool{}
	var paths [][]int
	root.Walk(func(section string, _ *message.Part) bool {
		if section == "" || seen[section] {
			return true
		}
		seen[section] = true
		var path []int
		for _, s := range strings.Split(section, ".") {
			n, _ := strconv.Atoi(s) // Walk's sections are numbers
			path = append(path, n)
		}
		paths = append(paths, path)
		return true
	})
	n := 1
	if root.IsMultipart() {
		n = len(root.Children)
	}
	return append(paths, []int{n + 1}, []int{99, 1})
}

// sectionsFor returns every specifier, with and without a partial range,
// for the path.
func sectionsFor(path []int) []*imap.FetchItemBodySection {
	specs := []imap.FetchItemBodySection{
		{},
		{Specifier: imap.PartSpecifierHeader},
		{Specifier: imap.PartSpecifierText},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"from", "SUBJECT", "Content-Type", "X-Missing"}},
		{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"received", "Content-type"}},
	}
	if len(path) > 0 {
		specs = append(specs, imap.FetchItemBodySection{Specifier: imap.PartSpecifierMIME})
	}
	partials := []*imap.SectionPartial{
		nil, {Offset: 0, Size: 10}, {Offset: 5, Size: 1 << 20}, {Offset: 1 << 20, Size: 5},
	}
	var out []*imap.FetchItemBodySection
	for _, s := range specs {
		for _, p := range partials {
			c := s
			c.Part = path
			c.Partial = p
			out = append(out, &c)
		}
	}
	return out
}

func describe(s *imap.FetchItemBodySection) string {
	d := fmt.Sprintf("BODY[%v.%s", s.Part, s.Specifier)
	if s.HeaderFields != nil || s.HeaderFieldsNot != nil {
		d += fmt.Sprintf(" %v%v", s.HeaderFields, s.HeaderFieldsNot)
	}
	d += "]"
	if p := s.Partial; p != nil {
		d += fmt.Sprintf("<%d.%d>", p.Offset, p.Size)
	}
	return d
}

// TestSection_MatchesGoIMAP checks every section of every well-formed
// test message against go-imap's ExtractBodySection, which parses the
// message with go-message on each call.
func TestSection_MatchesGoIMAP(t *testing.T) {
	for _, m := range testMessages {
		if !m.wellFormed {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			pm := parse(t, []byte(m.raw))
			paths := append([][]int{nil}, partPaths(pm.root)...)
			for _, path := range paths {
				for _, s := range sectionsFor(path) {
					got, err := render.Section(pm.raw, pm.root, s)
					if err != nil {
						t.Fatalf("%s: %v", describe(s), err)
					}
					want := imapserver.ExtractBodySection(strings.NewReader(m.raw), s)
					if !bytes.Equal(got, want) {
						t.Errorf("%s:\n got %q\nwant %q", describe(s), got, want)
					}
				}
			}
		})
	}
}

// TestSection_Golden checks sections against bytes written out by hand.
func TestSection_Golden(t *testing.T) {
	byName := map[string]parsed{}
	for _, m := range testMessages {
		byName[m.name] = parse(t, []byte(m.raw))
	}
	tests := []struct {
		msg  string
		sec  imap.FetchItemBodySection
		want string
	}{
		{"plain", imap.FetchItemBodySection{Part: []int{1}}, crlf("Hello Bob,\n\nthis is a plain message.\n")},
		{"plain", imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME},
			testMessages[0].raw[:strings.Index(testMessages[0].raw, "\r\n\r\n")+4]},
		// A one-part message has no part 1.1 (go-imap returns the body).
		{"plain", imap.FetchItemBodySection{Part: []int{1, 1}}, ""},
		{"plain", imap.FetchItemBodySection{Part: []int{2}}, ""},
		{"plain", imap.FetchItemBodySection{Part: []int{0}}, ""},
		{"alternative", imap.FetchItemBodySection{Part: []int{1}}, crlf("Plain text\ntwo lines")},
		{"alternative", imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME},
			crlf("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n")},
		{"rfc822", imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME},
			crlf("Content-Type: message/rfc822\nContent-Disposition: inline\n\n")},
		{"rfc822", imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierHeader,
			HeaderFields: []string{"subject", "FROM"}},
			crlf("From: Carol <carol@example.net>\nSubject: Original\n\n")},
		{"rfc822", imap.FetchItemBodySection{Part: []int{2, 2}}, "<p>Original</p>"},
		{"rfc822", imap.FetchItemBodySection{Part: []int{3, 1}}, crlf("Inner body line 1\nInner body line 2")},
		{"rfc822", imap.FetchItemBodySection{Part: []int{3}, Specifier: imap.PartSpecifierText},
			crlf("Inner body line 1\nInner body line 2")},
		{"rfc822-top", imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierHeader},
			crlf("From: inner@example.org\nSubject: Inner\nContent-Type: text/plain\n\n")},
		{"rfc822-top", imap.FetchItemBodySection{Part: []int{1, 1}}, crlf("Inner text\n")},
		{"nested", imap.FetchItemBodySection{Part: []int{1, 2, 2}, Partial: &imap.SectionPartial{Offset: 2, Size: 4}},
			"BORw"},
		{"lf-only", imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"subject"}},
			"Subject: LF\n\n"},
		{"lf-only", imap.FetchItemBodySection{Part: []int{1}}, "LF body"},
		// No blank line, none added (RFC 9051 §6.4.5).
		{"headers-only", imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader,
			HeaderFields: []string{"subject"}},
			"Subject: no body"},
		{"headers-only", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}, ""},
		{"8bit-headers", imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"to"}},
			"To: Ren\xe9 <rene@example.fr>\r\n\r\n"},
	}
	for _, tt := range tests {
		pm := byName[tt.msg]
		got, err := render.Section(pm.raw, pm.root, &tt.sec)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.msg, describe(&tt.sec), err)
		}
		if string(got) != tt.want {
			t.Errorf("%s %s:\n got %q\nwant %q", tt.msg, describe(&tt.sec), got, tt.want)
		}
	}
}

// TestSection_HeaderFields checks the subsetting rules of RFC 9051
// §6.4.5: names match ASCII-case-insensitively, fields keep their bytes
// and continuation lines and their order, repeated fields all match, and
// the blank line ends the subset.
func TestSection_HeaderFields(t *testing.T) {
	raw := crlf("X-A: 1\nsubject: first\n  folded\tmore\nX-B: 2\nSUBJECT : second\n" +
		"X-Key: ascii\n\nbody\nSubject: not a header\n")
	pm := parse(t, []byte(raw))
	tests := []struct {
		fields, not []string
		want        string
	}{
		{fields: []string{"Subject"}, want: crlf("subject: first\n  folded\tmore\nSUBJECT : second\n\n")},
		{fields: []string{"x-b", "X-A"}, want: crlf("X-A: 1\nX-B: 2\n\n")},
		{fields: []string{"x-key"}, want: crlf("X-Key: ascii\n\n")},
		{fields: []string{"X-\u212aey"}, want: "\r\n"},
		{fields: []string{"nothing"}, want: "\r\n"},
		{not: []string{"subject", "x-key"}, want: crlf("X-A: 1\nX-B: 2\n\n")},
		{not: []string{"none"}, want: crlf("X-A: 1\nsubject: first\n  folded\tmore\nX-B: 2\n" +
			"SUBJECT : second\nX-Key: ascii\n\n")},
	}
	for _, tt := range tests {
		s := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: tt.fields,
			HeaderFieldsNot: tt.not}
		got, err := render.Section(pm.raw, pm.root, s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", describe(s), got, tt.want)
		}
	}
}

func TestPartial(t *testing.T) {
	b := []byte("0123456789")
	tests := []struct {
		p    *imap.SectionPartial
		want string
	}{
		{nil, "0123456789"},
		{&imap.SectionPartial{Offset: 0, Size: 3}, "012"},
		{&imap.SectionPartial{Offset: 8, Size: 5}, "89"},
		{&imap.SectionPartial{Offset: 9, Size: 1}, "9"},
		{&imap.SectionPartial{Offset: 10, Size: 1}, ""},
		{&imap.SectionPartial{Offset: 11, Size: 1}, ""},
		{&imap.SectionPartial{Offset: 2, Size: 0}, ""},
		{&imap.SectionPartial{Offset: -1, Size: 3}, ""},
		{&imap.SectionPartial{Offset: 3, Size: -2}, ""},
		{&imap.SectionPartial{Offset: 4, Size: 1<<63 - 1}, "456789"},
	}
	for _, tt := range tests {
		if got := render.Partial(b, tt.p); string(got) != tt.want {
			t.Errorf("Partial(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSection_NilStructure(t *testing.T) {
	if _, err := render.Section([]byte("x"), nil, &imap.FetchItemBodySection{}); err == nil {
		t.Error("Section with a nil root: no error")
	}
	pm := parse(t, []byte("x"))
	if _, err := render.Section(pm.raw, pm.root, nil); err == nil {
		t.Error("Section with a nil section: no error")
	}
}

// TestSection_Corpus checks, on every message of the corpus, broken ones
// included, that every section is a subslice of raw or, for a header
// subset, made of raw's header lines.
func TestSection_Corpus(t *testing.T) {
	for _, m := range corpus(t) {
		pm := parse(t, []byte(m.raw))
		paths := append([][]int{nil, {1, 1, 1}}, partPaths(pm.root)...)
		for _, path := range paths {
			for _, s := range sectionsFor(path) {
				got, err := render.Section(pm.raw, pm.root, s)
				if err != nil {
					t.Fatalf("%s %s: %v", m.name, describe(s), err)
				}
				whole := *s
				whole.Partial = nil
				all, _ := render.Section(pm.raw, pm.root, &whole)
				checkWithin(t, pm.raw, all, &whole)
				if want := render.Partial(all, s.Partial); !bytes.Equal(got, want) {
					t.Fatalf("%s %s: %q, not the range of %q", m.name, describe(s), got, all)
				}
			}
		}
	}
}

// checkWithin fails unless b lies within raw: a subslice for a plain
// section, a subsequence of raw's lines for a header subset.
func checkWithin(tb testing.TB, raw, b []byte, s *imap.FetchItemBodySection) {
	tb.Helper()
	if len(b) > len(raw) {
		tb.Fatalf("%s: %d bytes from a message of %d", describe(s), len(b), len(raw))
	}
	if s.HeaderFields == nil && s.HeaderFieldsNot == nil {
		if len(b) > 0 && !bytes.Contains(raw, b) {
			tb.Fatalf("%s: %q is not part of the message", describe(s), b)
		}
		return
	}
	lines := strings.SplitAfter(string(raw), "\n")
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" && !slices.Contains(lines, l) {
			tb.Fatalf("%s: line %q is not a line of the message", describe(s), l)
		}
	}
}
