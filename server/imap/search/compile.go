package search

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// numRange is an inclusive range of sequence numbers or UIDs, "*" resolved.
type numRange struct{ lo, hi uint32 }

// flagKind names the flag a flagTest looks at.
type flagKind int

const (
	flagKeyword flagKind = iota
	flagSeen
	flagAnswered
	flagFlagged
	flagDeleted
	flagDraft
	flagRecent
)

// flagTest requires a flag to be set (want) or clear.
type flagTest struct {
	kind    flagKind
	keyword string
	want    bool
}

// headerTest is one HEADER criterion: the field name and the folded
// string to find in its value.
type headerTest struct {
	name   []byte
	needle []byte
}

// dateKey orders calendar dates: year, month and day packed so that a
// later date has a larger key. 0 means no criterion.
type dateKey int32

func keyOf(t time.Time) dateKey {
	y, m, d := t.Date()
	return dateKey(y<<9 | int(m)<<5 | d)
}

// node is one compiled SearchCriteria: the AND of its own tests, its NOTs
// and its ORs.
type node struct {
	seq   [][]numRange
	uid   [][]numRange
	flags []flagTest

	since, before         dateKey
	sentSince, sentBefore dateKey
	larger, smaller       int64
	modSeq                uint64

	headers []headerTest
	body    [][]byte
	text    [][]byte

	not []*node
	or  [][2]*node

	// need is the costliest criterion of the node and its children.
	need Need
}

// Compile prepares c for matching the messages of a mailbox with bounds
// b. A nil c matches every message. The result reuses its buffers from one
// Match to the next, so it is not safe for concurrent use.
func Compile(c *imap.SearchCriteria, b Bounds) *Matcher {
	mt := &Matcher{root: &node{}}
	if c != nil {
		mt.root = compile(c, b)
	}
	return mt
}

func compile(c *imap.SearchCriteria, b Bounds) *node {
	n := &node{
		since:      dateOf(c.Since),
		before:     dateOf(c.Before),
		sentSince:  dateOf(c.SentSince),
		sentBefore: dateOf(c.SentBefore),
		larger:     c.Larger,
		smaller:    c.Smaller,
	}
	if c.ModSeq != nil {
		n.modSeq = c.ModSeq.ModSeq
	}
	for _, s := range c.SeqNum {
		n.seq = append(n.seq, seqRanges(s, b.MaxSeq))
	}
	for _, s := range c.UID {
		if imap.IsSearchRes(s) {
			s = b.Saved
		}
		n.uid = append(n.uid, uidRanges(s, b.MaxUID))
	}
	for _, f := range c.Flag {
		n.flags = append(n.flags, flagTestOf(f, true))
	}
	for _, f := range c.NotFlag {
		n.flags = append(n.flags, flagTestOf(f, false))
	}

	// The strings are folded once here, not once per message.
	for _, h := range c.Header {
		n.headers = append(n.headers, headerTest{name: foldString(h.Key), needle: foldString(h.Value)})
	}
	for _, s := range c.Body {
		n.body = append(n.body, foldString(s))
	}
	for _, s := range c.Text {
		n.text = append(n.text, foldString(s))
	}

	for i := range c.Not {
		n.not = append(n.not, compile(&c.Not[i], b))
	}
	for i := range c.Or {
		n.or = append(n.or, [2]*node{compile(&c.Or[i][0], b), compile(&c.Or[i][1], b)})
	}
	n.need = Needs(c)
	return n
}

func dateOf(t time.Time) dateKey {
	if t.IsZero() {
		return 0
	}
	return keyOf(t)
}

// resolve turns one range of a set into a numRange: "*" (0) is max, and
// the ends are ordered, since RFC 9051 §9 makes 4:2 the same as 2:4.
func resolve(start, stop, max uint32) numRange {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return numRange{start, stop}
}

func seqRanges(s imap.SeqSet, max uint32) []numRange {
	out := make([]numRange, 0, len(s))
	for _, r := range s {
		out = append(out, resolve(r.Start, r.Stop, max))
	}
	return out
}

func uidRanges(s imap.UIDSet, max imap.UID) []numRange {
	out := make([]numRange, 0, len(s))
	for _, r := range s {
		out = append(out, resolve(uint32(r.Start), uint32(r.Stop), uint32(max)))
	}
	return out
}

func flagTestOf(f imap.Flag, want bool) flagTest {
	t := flagTest{want: want}
	switch s := string(f); {
	case strings.EqualFold(s, string(imap.FlagSeen)):
		t.kind = flagSeen
	case strings.EqualFold(s, string(imap.FlagAnswered)):
		t.kind = flagAnswered
	case strings.EqualFold(s, string(imap.FlagFlagged)):
		t.kind = flagFlagged
	case strings.EqualFold(s, string(imap.FlagDeleted)):
		t.kind = flagDeleted
	case strings.EqualFold(s, string(imap.FlagDraft)):
		t.kind = flagDraft
	case strings.EqualFold(s, `\Recent`):
		t.kind = flagRecent
	default:
		t.keyword = s
	}
	return t
}
