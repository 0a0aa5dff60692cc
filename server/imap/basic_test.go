package imap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAP_Basics walks the commands a client uses on first contact:
// LOGIN, LIST, SELECT, FETCH, STORE, SEARCH, COPY, EXPUNGE.
func TestIMAP_Basics(t *testing.T) {
	e := start(t, nil)
	for i, s := range []string{"one", "two", "three"} {
		e.deliver(e.alice, testMessage(s, strings.Repeat("body ", i+1)))
	}
	c := e.login(e.alice, nil)

	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Mailbox)
	}
	if strings.Join(names, ",") != "Archive,Drafts,INBOX,Junk,Sent,Trash" {
		t.Errorf("LIST: %v", names)
	}

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 3 || sel.UIDNext != 4 {
		t.Fatalf("SELECT: %+v", sel)
	}

	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[1].Envelope.Subject != "two" || msgs[2].UID != 3 {
		t.Fatalf("FETCH: %d messages", len(msgs))
	}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader}
	if h := string(msgs[0].FindBodySection(header)); !strings.Contains(h, "Subject: one\r\n") {
		t.Errorf("BODY.PEEK[HEADER]: %q", h)
	}

	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd,
		Flags: []imap.Flag{imap.FlagDeleted, "$Important"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	res, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil || len(res.AllUIDs()) != 1 || res.AllUIDs()[0] != 2 {
		t.Fatalf("SEARCH DELETED: %v %v", res, err)
	}
	res, err = c.Search(&imap.SearchCriteria{Body: []string{"body body body"}}, nil).Wait()
	if err != nil || len(res.AllSeqNums()) != 1 || res.AllSeqNums()[0] != 3 {
		t.Fatalf("SEARCH BODY: %v %v", res, err)
	}

	cp, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait()
	if err != nil || cp.DestUIDs.String() != "1" {
		t.Fatalf("COPY: %+v %v", cp, err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, Size: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Fatalf("STATUS: %+v %v", st, err)
	}

	// New mail while idling arrives within a second.
	ex := make(chan uint32, 4)
	onMailbox := func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages != nil {
			ex <- *d.NumMessages
		}
	}
	c2, err := imapclient.DialInsecure(e.addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Mailbox: onMailbox},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Close() }()
	if err := c2.Login(e.alice.Email, password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c2.Idle()
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(e.alice, testMessage("four", "late"))
	select {
	case n := <-ex:
		if n != 3 {
			t.Errorf("EXISTS %d, want 3", n)
		}
	case <-time.After(time.Second):
		t.Error("no EXISTS within a second of delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
}
