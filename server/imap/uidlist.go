package imap

import (
	"sort"

	"github.com/emersion/go-imap/v2"
)

// uidList is the ascending set of UIDs that a session's client knows, in
// sequence-number order. UIDs of one mailbox are mostly consecutive, so it
// keeps runs rather than single UIDs: a 10,000-message mailbox without
// gaps takes a few bytes instead of 40 KB, which matters for the memory of
// idle sessions.
type uidList struct {
	runs []uidRun
	// before[i] is the number of UIDs in runs[:i]; nil when stale.
	before []uint32
	n      uint32
}

type uidRun struct{ first, last imap.UID }

// Len returns the number of UIDs.
func (l *uidList) Len() uint32 { return l.n }

// Max returns the largest UID, or 0.
func (l *uidList) Max() imap.UID {
	if len(l.runs) == 0 {
		return 0
	}
	return l.runs[len(l.runs)-1].last
}

// Append adds uid, which must be larger than every UID in l.
func (l *uidList) Append(uid imap.UID) {
	if k := len(l.runs); k > 0 && l.runs[k-1].last+1 == uid {
		l.runs[k-1].last = uid
	} else {
		l.runs = append(l.runs, uidRun{uid, uid})
		l.before = nil
	}
	l.n++
}

func (l *uidList) index() {
	if l.before != nil {
		return
	}
	l.before = make([]uint32, len(l.runs))
	var n uint32
	for i, r := range l.runs {
		l.before[i] = n
		n += uint32(r.last-r.first) + 1
	}
}

// At returns the UID of sequence number seq (1-based), or 0.
func (l *uidList) At(seq uint32) imap.UID {
	if seq == 0 || seq > l.n {
		return 0
	}
	l.index()
	i := sort.Search(len(l.runs), func(i int) bool { return l.before[i] >= seq }) - 1
	return l.runs[i].first + imap.UID(seq-1-l.before[i])
}

// Seq returns the sequence number of uid, or 0 when l does not hold it.
func (l *uidList) Seq(uid imap.UID) uint32 {
	i := l.find(uid)
	if i < 0 {
		return 0
	}
	l.index()
	return l.before[i] + uint32(uid-l.runs[i].first) + 1
}

// find returns the index of the run holding uid, or -1.
func (l *uidList) find(uid imap.UID) int {
	i := sort.Search(len(l.runs), func(i int) bool { return l.runs[i].last >= uid })
	if i < len(l.runs) && l.runs[i].first <= uid {
		return i
	}
	return -1
}

// Contains reports whether l holds uid.
func (l *uidList) Contains(uid imap.UID) bool { return l.find(uid) >= 0 }

// Remove takes uid out of l and returns the sequence number it had, or 0.
func (l *uidList) Remove(uid imap.UID) uint32 {
	seq := l.Seq(uid)
	if seq == 0 {
		return 0
	}
	i := l.find(uid)
	r := l.runs[i]
	switch {
	case r.first == r.last:
		l.runs = append(l.runs[:i], l.runs[i+1:]...)
	case uid == r.first:
		l.runs[i].first++
	case uid == r.last:
		l.runs[i].last--
	default:
		l.runs = append(l.runs[:i+1], l.runs[i:]...)
		l.runs[i].last = uid - 1
		l.runs[i+1].first = uid + 1
	}
	l.before = nil
	l.n--
	return seq
}

// All returns every UID, for the rare callers that need a slice.
func (l *uidList) All() []imap.UID {
	out := make([]imap.UID, 0, l.n)
	for _, r := range l.runs {
		for u := r.first; ; u++ {
			out = append(out, u)
			if u == r.last {
				break
			}
		}
	}
	return out
}
