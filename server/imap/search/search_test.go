package search_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/server/imap/search"
)

// unitMessages is the corpus with the unit tests' UIDs, round sizes
// (1000 × seq), modseqs (10 × seq) and \Recent on the last message.
func unitMessages(tb testing.TB) []*search.Message {
	tb.Helper()
	var msgs []*search.Message
	for i, s := range corpus {
		m := newMessage(tb, s, uint32(i+1), uids[i])
		m.Size, m.ModSeq = int64(1000*(i+1)), uint64(10*(i+1))
		msgs = append(msgs, m)
	}
	msgs[len(msgs)-1].Recent = true
	return msgs
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func hdr(key, value string) *imap.SearchCriteria {
	return &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: key, Value: value}}}
}

func or(a, b *imap.SearchCriteria) *imap.SearchCriteria {
	return &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{*a, *b}}}
}

func not(c *imap.SearchCriteria) *imap.SearchCriteria {
	return &imap.SearchCriteria{Not: []imap.SearchCriteria{*c}}
}

func body(s string) *imap.SearchCriteria { return &imap.SearchCriteria{Body: []string{s}} }
func text(s string) *imap.SearchCriteria { return &imap.SearchCriteria{Text: []string{s}} }

func flag(f imap.Flag) *imap.SearchCriteria { return &imap.SearchCriteria{Flag: []imap.Flag{f}} }

// ranges parses a sequence set such as "1,3:*" into ranges, "*" as 0.
func ranges(s string) [][2]uint32 {
	var out [][2]uint32
	for _, item := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(item, ":")
		if !ok {
			hi = lo
		}
		out = append(out, [2]uint32{num(lo), num(hi)})
	}
	return out
}

func num(s string) uint32 {
	if s == "*" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		panic(err)
	}
	return uint32(n)
}

func seqs(s string) imap.SeqSet {
	var set imap.SeqSet
	for _, r := range ranges(s) {
		set = append(set, imap.SeqRange{Start: r[0], Stop: r[1]})
	}
	return set
}

func uidSet(s string) imap.UIDSet {
	var set imap.UIDSet
	for _, r := range ranges(s) {
		set = append(set, imap.UIDRange{Start: imap.UID(r[0]), Stop: imap.UID(r[1])})
	}
	return set
}

// allUIDs except the listed ones.
func except(skip ...imap.UID) []imap.UID {
	var out []imap.UID
	for _, u := range uids {
		if !contains(skip, u) {
			out = append(out, u)
		}
	}
	return out
}

func contains(list []imap.UID, u imap.UID) bool {
	for _, v := range list {
		if v == u {
			return true
		}
	}
	return false
}

type criteriaCase struct {
	name string
	c    *imap.SearchCriteria
	want []imap.UID
}

// criteriaCases cover every criterion of RFC 9051 §6.4.4 on the corpus
// (UIDs 3 5 8 13 21 34 55 in sequence order).
var criteriaCases = []criteriaCase{
	{"nil", nil, uids},
	{"all", &imap.SearchCriteria{}, uids},

	{"seq range", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("2:4")}}, []imap.UID{5, 8, 13}},
	{"seq to star", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("5:*")}}, []imap.UID{21, 34, 55}},
	{"seq star", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("*")}}, []imap.UID{55}},
	{"seq past star", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("9:*")}}, []imap.UID{55}},
	{"seq reversed", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("3:1")}}, []imap.UID{3, 5, 8}},
	{"seq list", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("1,3,6:7")}}, []imap.UID{3, 8, 34, 55}},
	{"seq and seq", &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs("1:5"), seqs("4:*")}}, []imap.UID{13, 21}},
	{"uid range", &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("8:21")}}, []imap.UID{8, 13, 21}},
	{"uid to star", &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("30:*")}}, []imap.UID{34, 55}},
	{"uid past star", &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("100:*")}}, []imap.UID{55}},
	{"uid star", &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("*")}}, []imap.UID{55}},
	{"uid gaps", &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("4,6:7,9:12")}}, nil},
	{"uid saved without save", &imap.SearchCriteria{UID: []imap.UIDSet{imap.SearchRes()}}, nil},

	{"seen", flag(imap.FlagSeen), []imap.UID{3, 55}},
	{"unseen", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, except(3, 55)},
	{"answered", flag(imap.FlagAnswered), []imap.UID{5}},
	{"flagged", flag(imap.FlagFlagged), []imap.UID{5}},
	{"deleted", flag(imap.FlagDeleted), []imap.UID{8}},
	{"undeleted", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}, except(8)},
	{"draft", flag(imap.FlagDraft), []imap.UID{13}},
	{"flag case", flag(`\SEEN`), []imap.UID{3, 55}},
	{"recent", flag(`\Recent`), []imap.UID{55}},
	{"new", &imap.SearchCriteria{Flag: []imap.Flag{`\Recent`}, NotFlag: []imap.Flag{imap.FlagSeen}}, nil},
	{"keyword", flag("$important"), []imap.UID{5}},
	{"keyword other", flag("work"), []imap.UID{21}},
	{"keyword unknown", flag("$Junk"), nil},
	{"unkeyword", &imap.SearchCriteria{NotFlag: []imap.Flag{"Work"}}, except(21)},
	{"flags and", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen, "$Forwarded"}}, []imap.UID{55}},

	{"since", &imap.SearchCriteria{Since: day(2024, 2, 12)}, []imap.UID{13, 21, 34, 55}},
	{"before", &imap.SearchCriteria{Before: day(2024, 2, 11)}, []imap.UID{3, 5}},
	// Message 2 arrived at 23:30 EST on 10 February, 04:30 UTC on the
	// 11th: its own zone decides.
	{"on own zone", &imap.SearchCriteria{Since: day(2024, 2, 10), Before: day(2024, 2, 11)}, []imap.UID{5}},
	{"on", &imap.SearchCriteria{Since: day(2024, 3, 1), Before: day(2024, 3, 2)}, []imap.UID{34, 55}},
	{"since time ignored", &imap.SearchCriteria{Since: time.Date(2024, 3, 1, 23, 0, 0, 0, est)}, []imap.UID{34, 55}},
	{"sentbefore", &imap.SearchCriteria{SentBefore: day(2030, 1, 1)}, except(34)},
	{"not sentbefore", not(&imap.SearchCriteria{SentBefore: day(2030, 1, 1)}), []imap.UID{34}},
	{"senton header zone", &imap.SearchCriteria{SentSince: day(2024, 1, 1), SentBefore: day(2024, 1, 2)},
		[]imap.UID{3}},
	{"sentsince", &imap.SearchCriteria{SentSince: day(2024, 2, 12)}, []imap.UID{13, 21, 55}},

	{"larger", &imap.SearchCriteria{Larger: 3000}, []imap.UID{13, 21, 34, 55}},
	{"smaller", &imap.SearchCriteria{Smaller: 3000}, []imap.UID{3, 5}},
	{"larger and smaller", &imap.SearchCriteria{Larger: 2000, Smaller: 5000}, []imap.UID{8, 13}},
	{"modseq", &imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{ModSeq: 50}}, []imap.UID{21, 34, 55}},

	{"subject", hdr("Subject", "report"), []imap.UID{3}},
	{"subject q word", hdr("Subject", "CAFÉ"), []imap.UID{5}},
	{"subject b word latin1", hdr("Subject", "grüße aus köln"), []imap.UID{8}},
	{"subject no full folding", hdr("Subject", "GRÜSSE"), nil},
	{"from display name", hdr("From", "ALICE example"), []imap.UID{3}},
	{"from encoded name", hdr("From", "renée"), []imap.UID{5}},
	{"from address", hdr("From", "example.org"), []imap.UID{3, 34, 55}},
	{"from raw utf-8", hdr("From", "jürgen"), []imap.UID{8}},
	{"to", hdr("To", "Bob <bob@"), []imap.UID{3}},
	{"cc", hdr("Cc", "carol"), []imap.UID{3}},
	{"bcc none", hdr("Bcc", ""), nil},
	{"header name case", hdr("message-id", "Q1@EXAMPLE"), []imap.UID{3}},
	{"header present", hdr("X-Priority", ""), []imap.UID{34}},
	{"header empty value present", hdr("X-Empty", ""), []imap.UID{34}},
	{"header empty value", hdr("X-Empty", "a"), nil},
	{"header date present", hdr("Date", ""), except(34)},
	{"header not in body part", hdr("Content-Disposition", ""), nil},
	{"header not in attached message", hdr("Subject", "inner subject"), nil},

	{"body plain", body("revenue GREW"), []imap.UID{3}},
	{"body empty", body(""), uids},
	{"body qp utf-8", body("crème brûlée"), []imap.UID{5}},
	{"body qp soft break", body("softbreak"), []imap.UID{5}},
	{"body base64", body("STRASSE-FEST in KÖLN"), []imap.UID{8}},
	{"body sigma folding", body("σίσυφος"), []imap.UID{8}},
	{"body latin1", body("DÉJEUNER est prêt"), []imap.UID{13}},
	{"body multipart text", body("attached invoice"), []imap.UID{21}},
	{"body html", body("<b>total</b>"), []imap.UID{21}},
	{"body not across parts", body("invoice.\ninvoice"), nil},
	{"body skips binary attachment", body("SECRETPDF"), nil},
	{"body skips text attachment", body("hiddennote"), nil},
	{"body skips preamble", body("multi-part message"), nil},
	{"body attached message", body("inner body"), []imap.UID{55}},
	{"body attached message header", body("Inner subject"), []imap.UID{55}},
	{"body not header", body("Quarterly"), nil},
	{"text header", text("quarterly"), []imap.UID{3}},
	{"text header name", text("subject: quarterly"), []imap.UID{3}},
	{"text address", text("alice@example.org"), []imap.UID{3}},
	{"text decoded header", text("café menu"), []imap.UID{5}},
	{"text body", text("revenue"), []imap.UID{3}},
	{"text two", &imap.SearchCriteria{Text: []string{"revenue", "alice"}}, []imap.UID{3}},
	{"text two apart", &imap.SearchCriteria{Text: []string{"revenue", "invoice"}}, nil},

	{"not flag", not(flag(imap.FlagSeen)), except(3, 55)},
	{"not not", not(not(flag(imap.FlagFlagged))), []imap.UID{5}},
	{"not body", not(body("invoice")), except(21)},
	{"or flags", or(flag(imap.FlagSeen), flag(imap.FlagFlagged)), []imap.UID{3, 5, 55}},
	{"or body header", or(body("revenue"), hdr("Subject", "café")), []imap.UID{3, 5}},
	{"or not", or(not(flag(imap.FlagSeen)), &imap.SearchCriteria{UID: []imap.UIDSet{uidSet("3")}}), except(55)},
	{"or nested", or(or(flag(imap.FlagDraft), flag(imap.FlagDeleted)), not(body("e"))), []imap.UID{8, 13}},
	{"and of all kinds", &imap.SearchCriteria{
		SeqNum:  []imap.SeqSet{seqs("2:*")},
		Since:   day(2024, 2, 1),
		NotFlag: []imap.Flag{imap.FlagDeleted},
		Header:  []imap.SearchCriteriaHeaderField{{Key: "To", Value: "bob"}},
		Not:     []imap.SearchCriteria{*flag(imap.FlagDraft)},
		Or:      [][2]imap.SearchCriteria{{*body("invoice"), *text("brûlée")}},
	}, []imap.UID{5, 21}},
	{"and excludes", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}, Body: []string{"invoice"}}, nil},
}

func TestMatch_Criteria(t *testing.T) {
	msgs := unitMessages(t)
	for _, tc := range criteriaCases {
		t.Run(tc.name, func(t *testing.T) {
			got := matchAll(t, msgs, tc.c, corpusBounds)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("UIDs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatch_SavedResult(t *testing.T) {
	msgs := unitMessages(t)
	b := corpusBounds
	b.Saved = imap.UIDSetNum(3, 13, 99)
	c := &imap.SearchCriteria{UID: []imap.UIDSet{imap.SearchRes()}, NotFlag: []imap.Flag{imap.FlagSeen}}
	if diff := cmp.Diff([]imap.UID{13}, matchAll(t, msgs, c, b)); diff != "" {
		t.Errorf("UIDs (-want +got):\n%s", diff)
	}
}

func TestMatch_PackageFunc(t *testing.T) {
	m := unitMessages(t)[0]
	ok, err := search.Match(m, body("revenue"), corpusBounds)
	if err != nil || !ok {
		t.Errorf("Match = %v, %v; want true, nil", ok, err)
	}
}

func TestNeeds(t *testing.T) {
	for _, tc := range []struct {
		c    *imap.SearchCriteria
		want search.Need
	}{
		{nil, search.NeedRow},
		{flag(imap.FlagSeen), search.NeedRow},
		{&imap.SearchCriteria{SentBefore: day(2024, 1, 1), Larger: 4}, search.NeedRow},
		{hdr("Subject", "x"), search.NeedHeader},
		{not(or(flag(imap.FlagSeen), hdr("From", "x"))), search.NeedHeader},
		{body("x"), search.NeedBody},
		{or(flag(imap.FlagSeen), not(text("x"))), search.NeedBody},
		{&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "To"}}, Body: []string{"x"}},
			search.NeedBody},
	} {
		if got := search.Needs(tc.c); got != tc.want {
			t.Errorf("Needs(%+v) = %v, want %v", tc.c, got, tc.want)
		}
		if got := search.Compile(tc.c, search.Bounds{}).Need(); got != tc.want {
			t.Errorf("Compile(%+v).Need() = %v, want %v", tc.c, got, tc.want)
		}
	}
}

// counted returns a Message whose Header and Raw count their calls.
func counted(tb testing.TB, withHeader bool) (m *search.Message, headers, raws *int) {
	tb.Helper()
	m = unitMessages(tb)[0]
	headers, raws = new(int), new(int)
	raw := m.Raw
	m.Raw = func() ([]byte, error) { *raws++; return raw() }
	if withHeader {
		m.Header = func() ([]byte, error) {
			*headers++
			b, _ := raw()
			return b[:len(b)/2], nil // a server may return more than the header
		}
	}
	return m, headers, raws
}

func TestMatch_LoadsLazily(t *testing.T) {
	for _, tc := range []struct {
		name          string
		c             *imap.SearchCriteria
		withHeader    bool
		want          bool
		headers, raws int
	}{
		{"row decides", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}, Body: []string{"x"}},
			true, false, 0, 0},
		{"row decides under or", or(flag(imap.FlagSeen), body("x")), true, true, 0, 0},
		{"header only", hdr("Subject", "report"), true, true, 1, 0},
		{"header from raw", hdr("Subject", "report"), false, true, 0, 1},
		{"header decides", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject",
			Value: "nope"}}, Body: []string{"revenue"}}, true, false, 1, 0},
		{"raw once", &imap.SearchCriteria{Text: []string{"alice", "revenue"},
			Or: [][2]imap.SearchCriteria{{*body("zzz"), *hdr("From", "alice")}}}, false, true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, headers, raws := counted(t, tc.withHeader)
			ok, err := search.Compile(tc.c, corpusBounds).Match(m)
			if err != nil || ok != tc.want {
				t.Fatalf("Match = %v, %v; want %v, nil", ok, err, tc.want)
			}
			if *headers != tc.headers || *raws != tc.raws {
				t.Errorf("Header called %d, Raw %d times; want %d, %d", *headers, *raws, tc.headers, tc.raws)
			}
		})
	}
}

func TestMatch_RawError(t *testing.T) {
	errStore := errors.New("blob missing")
	m := unitMessages(t)[0]
	m.Raw = func() ([]byte, error) { return nil, errStore }
	if _, err := search.Compile(body("x"), corpusBounds).Match(m); !errors.Is(err, errStore) {
		t.Errorf("Match error = %v, want %v", err, errStore)
	}
	m.Raw = nil
	if _, err := search.Compile(hdr("To", "x"), corpusBounds).Match(m); !errors.Is(err, search.ErrNoRaw) {
		t.Errorf("Match error = %v, want ErrNoRaw", err)
	}
}

// TestMatch_ReusesState runs one Matcher over messages in an order that
// makes a stale buffer from the previous message visible.
func TestMatch_ReusesState(t *testing.T) {
	msgs := unitMessages(t)
	mt := search.Compile(text("revenue"), corpusBounds)
	for _, i := range []int{0, 1, 0, 4, 0, 6} {
		ok, err := mt.Match(msgs[i])
		if err != nil || ok != (i == 0) {
			t.Errorf("message %d: Match = %v, %v", i+1, ok, err)
		}
	}
}
