package imap_test

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestCopyMove_Nothing checks that a UID COPY or UID MOVE that names no
// message of the mailbox answers a plain OK, without COPYUID (RFC 4315
// §3): an empty COPYUID once broke the tagged line off mid-response, and
// the client's next command read garbage.
func TestCopyMove_Nothing(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	c := e.selectInbox(e.alice, nil)

	if data, err := c.Copy(imap.UIDSetNum(999), "Archive").Wait(); err != nil || data.UIDValidity != 0 {
		t.Errorf("UID COPY 999: %+v, %v; want OK without COPYUID", data, err)
	}
	if data, err := c.Move(imap.UIDSetNum(999), "Trash").Wait(); err != nil || data.UIDValidity != 0 {
		t.Errorf("UID MOVE 999: %+v, %v; want OK without COPYUID", data, err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP after them: %v", err)
	}
	if got := e.uidsOf(e.alice, "Archive"); len(got) != 0 {
		t.Errorf("Archive holds %v", got)
	}
	if got := e.uidsOf(e.alice, "INBOX"); len(got) != 2 {
		t.Errorf("INBOX holds %v, want 2 messages", got)
	}
}
