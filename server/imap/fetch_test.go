package imap_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/lightr-mail/lightr/ent"
)

// multipartMessage has a text part, a base64 attachment and a forwarded
// message, so that every kind of section has something to show.
var multipartMessage = strings.ReplaceAll(`From: Bob <bob@sender.example>
To: Alice <alice@example.test>, carol@example.test
Cc: dave@example.test
Subject: Multipart test
Date: Fri, 04 Dec 2026 09:30:00 +0100
Message-ID: <mp@sender.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: text/plain; charset=utf-8

Hello Alice,
this is the text part.
--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

AAECAwQFBgcICQ==
--outer
Content-Type: message/rfc822

From: Carol <carol@example.test>
To: Bob <bob@sender.example>
Subject: Inner message
Date: Thu, 03 Dec 2026 08:00:00 +0000
Content-Type: text/plain

Inner body line.
--outer--
`, "\n", "\r\n")

// between returns the part of s after from and before to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	j := strings.Index(s[i+len(from):], to)
	return s[i+len(from) : i+len(from)+j]
}

// appendMessage appends raw to a's mailbox name over a new session and
// returns its UID.
func (e *env) appendMessage(c *imapclient.Client, name, raw string, o *imap.AppendOptions) imap.UID {
	e.t.Helper()
	cmd := c.Append(name, int64(len(raw)), o)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		e.t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		e.t.Fatalf("APPEND: %v", err)
	}
	return data.UID
}

// sectionBytes returns the bytes a FETCH answered for section.
func sectionBytes(t *testing.T, m *imapclient.FetchMessageBuffer, s *imap.FetchItemBodySection) string {
	t.Helper()
	for _, b := range m.BodySection {
		if b.Section.Specifier == s.Specifier && slicesEqual(b.Section.Part, s.Part) &&
			(s.Partial == nil) == (b.Section.Partial == nil) {
			return string(b.Bytes)
		}
	}
	t.Fatalf("no section %+v in the answer", s)
	return ""
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFetch_Sections(t *testing.T) {
	e := start(t, nil)
	e.deliver(e.alice, multipartMessage)
	c := e.selectInbox(e.alice, nil)
	raw := multipartMessage
	header := raw[:strings.Index(raw, "\r\n\r\n")+4]
	inner := between(raw, "Content-Type: message/rfc822\r\n\r\n", "\r\n--outer--")
	innerHeader := inner[:strings.Index(inner, "\r\n\r\n")+4]

	tests := []struct {
		name    string
		section imap.FetchItemBodySection
		want    string
	}{
		{"whole", imap.FetchItemBodySection{}, raw},
		{"header", imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader}, header},
		{"text", imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}, raw[len(header):]},
		{"1", imap.FetchItemBodySection{Part: []int{1}}, "Hello Alice,\r\nthis is the text part."},
		{"1.MIME", imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME},
			"Content-Type: text/plain; charset=utf-8\r\n\r\n"},
		{"2", imap.FetchItemBodySection{Part: []int{2}}, "AAECAwQFBgcICQ=="},
		{"3", imap.FetchItemBodySection{Part: []int{3}}, inner},
		{"3.HEADER", imap.FetchItemBodySection{Part: []int{3}, Specifier: imap.PartSpecifierHeader}, innerHeader},
		{"3.TEXT", imap.FetchItemBodySection{Part: []int{3}, Specifier: imap.PartSpecifierText}, "Inner body line."},
		{"3.1", imap.FetchItemBodySection{Part: []int{3, 1}}, "Inner body line."},
		{"header fields", imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader,
			HeaderFields: []string{"subject", "From"}},
			"From: Bob <bob@sender.example>\r\nSubject: Multipart test\r\n\r\n"},
		{"partial", imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 6, Size: 10}}, raw[6:16]},
		{"partial past end", imap.FetchItemBodySection{Part: []int{2},
			Partial: &imap.SectionPartial{Offset: 10, Size: 100}}, "cICQ=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.section
			s.Peek = true
			opts := &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{&s}}
			msgs, err := c.Fetch(imap.SeqSetNum(1), opts).Collect()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("FETCH: %v %v", msgs, err)
			}
			if got := sectionBytes(t, msgs[0], &s); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	if e.message(e.alice, "INBOX", 1).Seen {
		t.Error("BODY.PEEK set \\Seen")
	}
}

func TestFetch_BinaryAndStructure(t *testing.T) {
	e := start(t, nil)
	e.deliver(e.alice, multipartMessage)
	c := e.selectInbox(e.alice, nil)
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID: true, Envelope: true, RFC822Size: true, InternalDate: true,
		BodyStructure:     &imap.FetchItemBodyStructure{Extended: true},
		BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}, {Part: []int{1}}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	m := msgs[0]
	wantBinary := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if b := m.FindBinarySection(&imap.FetchItemBinarySection{Part: []int{2}}); !bytes.Equal(b, wantBinary) {
		t.Errorf("BINARY[2]: %v", b)
	}
	if n, ok := m.FindBinarySectionSize([]int{2}); !ok || n != 10 {
		t.Errorf("BINARY.SIZE[2]: %d %v", n, ok)
	}
	if n, ok := m.FindBinarySectionSize([]int{1}); !ok || n != uint32(len("Hello Alice,\r\nthis is the text part.")) {
		t.Errorf("BINARY.SIZE[1]: %d %v", n, ok)
	}
	if m.RFC822Size != int64(len(multipartMessage)) || m.RFC822Size != e.message(e.alice, "INBOX", 1).Size {
		t.Errorf("RFC822.SIZE %d, want %d", m.RFC822Size, len(multipartMessage))
	}

	env := m.Envelope
	date := time.Date(2026, 12, 4, 8, 30, 0, 0, time.UTC)
	if env == nil || env.Subject != "Multipart test" || env.MessageID != "mp@sender.example" ||
		!env.Date.Equal(date) || len(env.From) != 1 || env.From[0].Name != "Bob" ||
		env.From[0].Addr() != "bob@sender.example" || len(env.To) != 2 || env.To[1].Addr() != "carol@example.test" ||
		len(env.Cc) != 1 || env.Cc[0].Addr() != "dave@example.test" {
		t.Errorf("ENVELOPE: %+v", env)
	}

	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || !strings.EqualFold(mp.Subtype, "mixed") || len(mp.Children) != 3 {
		t.Fatalf("BODYSTRUCTURE: %#v", m.BodyStructure)
	}
	text, _ := mp.Children[0].(*imap.BodyStructureSinglePart)
	att, _ := mp.Children[1].(*imap.BodyStructureSinglePart)
	fwd, _ := mp.Children[2].(*imap.BodyStructureSinglePart)
	if text == nil || !strings.EqualFold(text.Type, "text") || text.Params["charset"] != "utf-8" || text.Text == nil ||
		text.Text.NumLines != 2 {
		t.Errorf("part 1: %#v", text)
	}
	if att == nil || !strings.EqualFold(att.Encoding, "base64") || att.Size != 16 ||
		att.Extended == nil || att.Extended.Disposition == nil ||
		!strings.EqualFold(att.Extended.Disposition.Value, "attachment") {
		t.Errorf("part 2: %#v", att)
	}
	if fwd == nil || fwd.MessageRFC822 == nil || fwd.MessageRFC822.Envelope.Subject != "Inner message" {
		t.Errorf("part 3: %#v", fwd)
	}
}

func TestFetch_BodySetsSeen(t *testing.T) {
	e := start(t, nil)
	e.deliverN(e.alice, 2)
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	u := rc.ok("FETCH 1 BODY[TEXT]")
	if len(u) != 1 || !strings.Contains(u[0], `FLAGS (\Seen)`) || !strings.Contains(u[0], "body 1") {
		t.Errorf("FETCH BODY[TEXT]: %q", u)
	}
	if !e.message(e.alice, "INBOX", 1).Seen {
		t.Error("BODY[] did not set \\Seen")
	}

	// Already seen: FLAGS still comes along, and nothing changes.
	mod := e.mailbox(e.alice, "INBOX").HighestModseq
	rc.ok("FETCH 1 BODY[]")
	if e.mailbox(e.alice, "INBOX").HighestModseq != mod {
		t.Error("fetching a seen message again changed the mailbox")
	}
	rc.ok("FETCH 2 BINARY[1]")
	if !e.message(e.alice, "INBOX", 2).Seen {
		t.Error("BINARY[] did not set \\Seen")
	}
}

func TestFetch_InternalDateAndSets(t *testing.T) {
	e := start(t, nil)
	c := e.selectInbox(e.alice, nil)
	date := time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("", 2*3600))
	for i := range 5 {
		e.appendMessage(c, "INBOX", testMessage("s"+string(rune('a'+i)), "x"), &imap.AppendOptions{Time: date})
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 || !msgs[0].InternalDate.Equal(date) {
		t.Fatalf("INTERNALDATE: %+v %v", msgs, err)
	}

	// UID sets with *, ranges given backwards, sequence sets. Raw lines:
	// imapclient drops answers that its own reading of "*" does not hold.
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	for set, want := range map[string]string{"*": "5", "4:*": "4,5", "9:*": "5", "2,4": "2,4",
		"3:1": "1,2,3", "6:8": "", "1,1:2": "1,2"} {
		var got []string
		for _, l := range rc.ok("UID FETCH %s (FLAGS)", set) {
			got = append(got, between(l, "UID ", " "))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("UID FETCH %s: %v, want %s", set, got, want)
		}
	}
	msgs, err = c.Fetch(imap.SeqSet{{Start: 2, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 4 || msgs[3].UID != 5 {
		t.Errorf("FETCH 2:*: %v %v", msgs, err)
	}

	// SEARCH RETURN (SAVE) then FETCH $.
	rc.ok("UID STORE 2,4 +FLAGS (\\Flagged)")
	rc.ok("SEARCH RETURN (SAVE) FLAGGED")
	u := rc.ok("UID FETCH $ (FLAGS)")
	if len(u) != 2 || !strings.Contains(u[0], "UID 2") || !strings.Contains(u[1], "UID 4") {
		t.Errorf("UID FETCH $: %q", u)
	}
	if u := rc.ok("FETCH $ (UID)"); len(u) != 2 || !strings.HasPrefix(u[0], "* 2 FETCH") {
		t.Errorf("FETCH $: %q", u)
	}
}

// TestFetch_FlagsSizeDate: FETCH FLAGS, RFC822.SIZE and INTERNALDATE
// answer what the message rows hold, keywords included, for messages with
// and without them.
func TestFetch_FlagsSizeDate(t *testing.T) {
	e := start(t, nil)
	c := e.selectInbox(e.alice, nil)
	date := time.Date(2024, 11, 2, 8, 30, 0, 0, time.UTC)
	raws := []string{testMessage("plain", "x"), testMessage("tagged", "a longer body")}
	for _, raw := range raws {
		e.appendMessage(c, "INBOX", raw, &imap.AppendOptions{Time: date})
	}
	rc := e.raw(e.alice)
	rc.ok("SELECT INBOX")
	rc.ok(`UID STORE 2 +FLAGS (\Flagged $Forwarded work)`)
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{
		Flags: true, RFC822Size: true, InternalDate: true, UID: true,
	}).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	for i, m := range msgs {
		if m.RFC822Size != int64(len(raws[i])) || !m.InternalDate.Equal(date) {
			t.Errorf("message %d: size %d (want %d), date %v", i+1, m.RFC822Size, len(raws[i]), m.InternalDate)
		}
	}
	if len(msgs[0].Flags) != 0 {
		t.Errorf("message 1 flags %v, want none", msgs[0].Flags)
	}
	got := fmt.Sprint(msgs[1].Flags)
	if got != `[\Flagged $Forwarded work]` {
		t.Errorf("message 2 flags %s", got)
	}
}

// TestFetch_PartsReadByUID fetches envelopes with the shared cache empty,
// first for a few scattered UIDs (read by UID) and then for the whole
// range (read in index order), beside another mailbox and another
// account with messages under the same UIDs: each FETCH must describe the
// messages of the selected mailbox.
func TestFetch_PartsReadByUID(t *testing.T) {
	e := start(t, nil)
	bob := e.account("bob")
	for _, a := range []*ent.Account{e.alice, bob} {
		c := e.login(a, nil)
		for i := 1; i <= 20; i++ {
			e.appendMessage(c, "INBOX", testMessage(fmt.Sprintf("%s inbox %d", a.Email, i), "x"), nil)
			e.appendMessage(c, "Archive", testMessage(fmt.Sprintf("%s archive %d", a.Email, i), "x"), nil)
		}
		_ = c.Close()
	}
	c := e.selectInbox(e.alice, nil)
	check := func(uids ...imap.UID) {
		t.Helper()
		msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
			UID: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{},
		}).Collect()
		if err != nil || len(msgs) != len(uids) {
			t.Fatalf("FETCH %v: %d messages, %v", uids, len(msgs), err)
		}
		for _, m := range msgs {
			want := fmt.Sprintf("%s inbox %d", e.alice.Email, m.UID)
			if m.Envelope == nil || m.Envelope.Subject != want || m.BodyStructure == nil {
				t.Errorf("UID %d: envelope %+v, want subject %q", m.UID, m.Envelope, want)
			}
		}
	}
	check(2, 11, 19)
	uids := make([]imap.UID, 20)
	for i := range uids {
		uids[i] = imap.UID(i + 1)
	}
	check(uids...)
}

// TestFetch_ManyChunks fetches more messages than one chunk holds, so
// that the next chunk is read while this one is written: every message
// comes once, in order, with its own envelope, also for a UID set with
// gaps across chunks and with messages another session expunged.
func TestFetch_ManyChunks(t *testing.T) {
	e := start(t, nil)
	const n = 1234
	e.deliverN(e.alice, n)
	other := e.selectInbox(e.alice, nil)
	c := e.selectInbox(e.alice, nil)
	if err := other.Store(imap.UIDSetNum(3, 700, 1201), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	var all, gaps imap.UIDSet
	all.AddRange(1, 0)
	gaps.AddRange(1, 100)
	gaps.AddRange(600, 700)
	gaps.AddRange(1200, 0)
	for name, uids := range map[string]imap.UIDSet{"all": all, "gaps": gaps} {
		msgs, err := c.Fetch(uids, &imap.FetchOptions{
			UID: true, Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{},
		}).Collect()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var last imap.UID
		for _, m := range msgs {
			if m.UID <= last || m.Envelope == nil || m.Envelope.Subject != fmt.Sprintf("m%d", m.UID) ||
				m.BodyStructure == nil {
				t.Fatalf("%s: after UID %d got UID %d, envelope %+v", name, last, m.UID, m.Envelope)
			}
			last = m.UID
		}
		// The session has not been told of the expunges yet (FETCH may
		// not report them), so it still names all of them, and those it
		// cannot read any more are left out.
		want := map[string]int{"all": n - 3, "gaps": 100 + 101 + (n - 1200 + 1) - 3}[name]
		if len(msgs) != want {
			t.Errorf("%s: %d messages, want %d", name, len(msgs), want)
		}
	}
}
