package netlimit

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
)

// Networks is a list of trusted client networks.
type Networks []netip.Prefix

// Contains reports whether ip is in one of the networks.
func (n Networks) Contains(ip netip.Addr) bool {
	for _, p := range n {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// IDs hands out connection ids for logs and error replies: a prefix
// from the start time, so that ids of one run do not repeat those of the
// last, then a counter ("6a1b00000001"). The zero value is not ready;
// use NewIDs.
type IDs struct {
	prefix string
	n      atomic.Uint64
}

// NewIDs returns an id source starting now.
func NewIDs() *IDs {
	return &IDs{prefix: fmt.Sprintf("%x", time.Now().Unix()&0xffffff)}
}

// Next returns a new id.
func (ids *IDs) Next() string {
	return fmt.Sprintf("%s%06x", ids.prefix, ids.n.Add(1))
}
