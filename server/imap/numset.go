package imap

import (
	"github.com/emersion/go-imap/v2"
)

// resolve returns the known UIDs that numSet names, ascending. Sequence
// numbers count the client's view (RFC 9051 §2.3.1.2); "*" is the last
// message, or the largest UID (§6.4.8: "n:*" holds that one even when n is
// larger). "$" is the result saved by the last SEARCH (RFC 5182).
func (sel *selected) resolve(numSet imap.NumSet) []imap.UID {
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	var out []imap.UID
	switch set := numSet.(type) {
	case imap.SeqSet:
		n := sel.uids.Len()
		if n == 0 {
			return nil
		}
		marks := make(map[uint32]bool)
		for _, r := range set {
			lo, hi := orStar(r.Start, n), orStar(r.Stop, n)
			if lo > hi {
				lo, hi = hi, lo
			}
			for seq := lo; seq <= min(hi, n); seq++ {
				marks[seq] = true
			}
		}
		for seq := uint32(1); seq <= n; seq++ {
			if marks[seq] {
				out = append(out, sel.uids.At(seq))
			}
		}
	case imap.UIDSet:
		largest := sel.uids.Max()
		for _, u := range sel.uids.All() {
			if uidSetHas(set, u, largest) {
				out = append(out, u)
			}
		}
	}
	return out
}

func orStar(n, star uint32) uint32 {
	if n == 0 {
		return star
	}
	return n
}

// uidSetHas reports whether set names uid, "*" standing for largest.
func uidSetHas(set imap.UIDSet, uid, largest imap.UID) bool {
	for _, r := range set {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = largest
		}
		if hi == 0 {
			hi = largest
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if uid >= lo && uid <= hi {
			return true
		}
	}
	return false
}

// seqSetOf turns UIDs (ascending) into the client's sequence numbers.
func (sel *selected) seqSetOf(uids []imap.UID) imap.SeqSet {
	var set imap.SeqSet
	for _, u := range uids {
		if seq := sel.uids.Seq(u); seq != 0 {
			set.AddNum(seq)
		}
	}
	return set
}

// uidSetOf turns UIDs into a UID set.
func uidSetOf(uids []imap.UID) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(u)
	}
	return set
}
