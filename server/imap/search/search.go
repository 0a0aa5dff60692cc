package search

import (
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
)

// ErrNoRaw is returned by Match when a criterion needs the message's bytes
// and the Message has no Raw (or, for a header criterion, no Header).
var ErrNoRaw = errors.New("search: message bytes needed but Raw is nil")

// MaxTextBytes bounds the decoded body text of one message that BODY and
// TEXT search (1 MiB); text past it is not searched.
const MaxTextBytes = 1 << 20

// Message is what Match needs of one message of the selected mailbox: the
// fields of its row, and its bytes on demand.
type Message struct {
	// Seq is the message's sequence number in the session, UID its UID.
	Seq uint32
	UID imap.UID

	// The system flags; Recent is the session's \Recent, if it keeps one.
	Seen, Answered, Flagged, Deleted, Draft, Recent bool
	// Keywords are the message's other flags.
	Keywords []string

	// InternalDate is the INTERNALDATE; its calendar date is taken in its
	// own location (see the package comment).
	InternalDate time.Time
	// Size is the RFC822.SIZE.
	Size int64
	// SentAt is the Date header, nil when it is missing or does not parse.
	SentAt *time.Time
	// ModSeq is the message's modseq (RFC 7162).
	ModSeq uint64

	// Header returns the top-level header block (the bytes up to and
	// including the blank line that ends it; more is harmless). It is
	// optional: when nil, Raw is called instead.
	Header func() ([]byte, error)
	// Raw returns the whole message. It is called at most once per Match,
	// and only when a criterion that Need reports as NeedBody is reached
	// (or NeedHeader without Header). Match does not keep or modify the
	// bytes after it returns.
	Raw func() ([]byte, error)
}

// Need is what a search reads beyond the message row.
type Need int

// The needs of a search, in increasing order of cost.
const (
	// NeedRow: numbers, flags, dates, size and modseq only.
	NeedRow Need = iota
	// NeedHeader: also the top-level header (HEADER, FROM, TO, CC, BCC,
	// SUBJECT).
	NeedHeader
	// NeedBody: also the body (BODY, TEXT).
	NeedBody
)

// String returns the constant's name.
func (n Need) String() string {
	switch n {
	case NeedRow:
		return "NeedRow"
	case NeedHeader:
		return "NeedHeader"
	case NeedBody:
		return "NeedBody"
	}
	return "Need(?)"
}

// Bounds are what the dynamic parts of a number set stand for in the
// selected mailbox when the SEARCH runs.
type Bounds struct {
	// MaxSeq is the number of messages, the sequence number of "*".
	MaxSeq uint32
	// MaxUID is the UID of the last message, what "*" means in a UID set
	// (RFC 9051 §9, seq-number).
	MaxUID imap.UID
	// Saved is the result of the last SEARCH with RETURN (SAVE), which
	// "$" refers to (RFC 9051 §6.4.4.1); nil when none was saved, and then
	// "$" is the empty set.
	Saved imap.UIDSet
}

// Needs reports what evaluating c can read beyond the message row: the
// costliest criterion anywhere in the tree, under NOT and OR included.
func Needs(c *imap.SearchCriteria) Need {
	if c == nil {
		return NeedRow
	}
	n := NeedRow
	if len(c.Header) > 0 {
		n = NeedHeader
	}
	if len(c.Body) > 0 || len(c.Text) > 0 {
		return NeedBody
	}
	for i := range c.Not {
		n = max(n, Needs(&c.Not[i]))
	}
	for i := range c.Or {
		n = max(n, Needs(&c.Or[i][0]), Needs(&c.Or[i][1]))
	}
	return n
}

// Match reports whether m matches c. It compiles c on every call: a
// server that searches many messages calls Compile once and then
// Matcher.Match.
func Match(m *Message, c *imap.SearchCriteria, b Bounds) (bool, error) {
	return Compile(c, b).Match(m)
}
