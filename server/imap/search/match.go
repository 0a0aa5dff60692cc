package search

import (
	"bytes"
	"fmt"
	"strings"
)

// Matcher matches messages against one compiled SEARCH. Its zero value is
// not usable; Compile makes one.
type Matcher struct {
	root *node

	// The current message and what has been read of it. The buffers keep
	// their capacity from one message to the next.
	m          *Message
	raw        []byte
	haveHeader bool
	haveBody   bool
	hdr        headerText
	body       bodyText
}

// Need reports what Match can read beyond the message row (see Needs).
func (mt *Matcher) Need() Need { return mt.root.need }

// Match reports whether m matches. It returns the error of m.Header or
// m.Raw, if it needed to call them and they failed.
func (mt *Matcher) Match(m *Message) (bool, error) {
	mt.m, mt.raw = m, nil
	mt.haveHeader, mt.haveBody = false, false
	ok, err := mt.eval(mt.root)
	mt.m, mt.raw = nil, nil // do not keep the caller's bytes alive
	return ok, err
}

// eval evaluates n cheapest first: its row tests, then its children and
// its own tests in order of what they read, so that a message that fails
// on its flags is never loaded.
func (mt *Matcher) eval(n *node) (bool, error) {
	if !mt.matchRow(n) {
		return false, nil
	}
	for level := NeedRow; level <= n.need; level++ {
		switch level {
		case NeedHeader:
			if ok, err := mt.matchHeaders(n); !ok || err != nil {
				return false, err
			}
		case NeedBody:
			if ok, err := mt.matchBody(n); !ok || err != nil {
				return false, err
			}
		}
		if ok, err := mt.evalChildren(n, level); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// evalChildren evaluates the NOTs and ORs of n whose need is level.
func (mt *Matcher) evalChildren(n *node, level Need) (bool, error) {
	for _, c := range n.not {
		if c.need != level {
			continue
		}
		ok, err := mt.eval(c)
		if ok || err != nil {
			return false, err
		}
	}
	for _, pair := range n.or {
		if max(pair[0].need, pair[1].need) != level {
			continue
		}
		// The cheaper side first: it may decide the pair alone.
		a, b := pair[0], pair[1]
		if b.need < a.need {
			a, b = b, a
		}
		ok, err := mt.eval(a)
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = mt.eval(b); err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

// matchRow evaluates the tests of n that the row answers.
func (mt *Matcher) matchRow(n *node) bool {
	m := mt.m
	for _, set := range n.seq {
		if !contains(set, m.Seq) {
			return false
		}
	}
	for _, set := range n.uid {
		if !contains(set, uint32(m.UID)) {
			return false
		}
	}
	for _, f := range n.flags {
		if mt.hasFlag(f) != f.want {
			return false
		}
	}
	if n.since != 0 || n.before != 0 {
		if !inDates(keyOf(m.InternalDate), n.since, n.before) {
			return false
		}
	}
	if n.sentSince != 0 || n.sentBefore != 0 {
		if m.SentAt == nil || !inDates(keyOf(*m.SentAt), n.sentSince, n.sentBefore) {
			return false
		}
	}
	if n.larger != 0 && m.Size <= n.larger {
		return false
	}
	if n.smaller != 0 && m.Size >= n.smaller {
		return false
	}
	return n.modSeq == 0 || m.ModSeq >= n.modSeq
}

func contains(set []numRange, v uint32) bool {
	for _, r := range set {
		if r.lo <= v && v <= r.hi {
			return true
		}
	}
	return false
}

// inDates reports whether date d is on or after since and before before,
// a zero bound being no bound (RFC 9051 §6.4.4 SINCE, BEFORE).
func inDates(d, since, before dateKey) bool {
	return (since == 0 || d >= since) && (before == 0 || d < before)
}

func (mt *Matcher) hasFlag(f flagTest) bool {
	m := mt.m
	switch f.kind {
	case flagSeen:
		return m.Seen
	case flagAnswered:
		return m.Answered
	case flagFlagged:
		return m.Flagged
	case flagDeleted:
		return m.Deleted
	case flagDraft:
		return m.Draft
	case flagRecent:
		return m.Recent
	}
	for _, k := range m.Keywords {
		if strings.EqualFold(k, f.keyword) {
			return true
		}
	}
	return false
}

// matchHeaders evaluates the HEADER tests of n.
func (mt *Matcher) matchHeaders(n *node) (bool, error) {
	if len(n.headers) == 0 {
		return true, nil
	}
	if err := mt.loadHeader(); err != nil {
		return false, err
	}
	for _, h := range n.headers {
		if !mt.hdr.match(h.name, h.needle) {
			return false, nil
		}
	}
	return true, nil
}

// matchBody evaluates the BODY and TEXT tests of n.
func (mt *Matcher) matchBody(n *node) (bool, error) {
	if len(n.body) == 0 && len(n.text) == 0 {
		return true, nil
	}
	if err := mt.loadBody(); err != nil {
		return false, err
	}
	for _, s := range n.body {
		if !bytes.Contains(mt.body.text, s) {
			return false, nil
		}
	}
	for _, s := range n.text {
		if !bytes.Contains(mt.hdr.text, s) && !bytes.Contains(mt.body.text, s) {
			return false, nil
		}
	}
	return true, nil
}

// loadHeader reads and decodes the top-level header, from m.Header if the
// server gives one, else from the whole message.
func (mt *Matcher) loadHeader() error {
	if mt.haveHeader {
		return nil
	}
	var b []byte
	var err error
	switch {
	case mt.raw != nil:
		b = mt.raw
	case mt.m.Header != nil:
		b, err = mt.m.Header()
		if err != nil {
			return fmt.Errorf("search: read header of uid %d: %w", mt.m.UID, err)
		}
	default:
		if err := mt.loadRaw(); err != nil {
			return err
		}
		b = mt.raw
	}
	mt.hdr.reset(b)
	mt.haveHeader = true
	return nil
}

// loadBody reads and decodes the header and the body text.
func (mt *Matcher) loadBody() error {
	if mt.haveBody {
		return nil
	}
	if err := mt.loadRaw(); err != nil {
		return err
	}
	if err := mt.loadHeader(); err != nil {
		return err
	}
	mt.body.reset(mt.raw)
	mt.haveBody = true
	return nil
}

func (mt *Matcher) loadRaw() error {
	if mt.raw != nil {
		return nil
	}
	if mt.m.Raw == nil {
		return fmt.Errorf("search: uid %d: %w", mt.m.UID, ErrNoRaw)
	}
	b, err := mt.m.Raw()
	if err != nil {
		return fmt.Errorf("search: read message uid %d: %w", mt.m.UID, err)
	}
	if b == nil {
		b = []byte{}
	}
	mt.raw = b
	return nil
}
