package main

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dial logs in with go-imap's client; loading, checking and the idle
// connections use it, the timed commands use rawConn.
func dial(addr, user, pass string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("login %s on %s: %w", user, addr, err)
	}
	return c, nil
}

// appendAll APPENDs msgs to user's INBOX, which must be empty, in order,
// with their mbox dates as internal dates.
func appendAll(addr, user, pass string, msgs []mail) (time.Duration, error) {
	c, err := dial(addr, user, pass)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	if *st.NumMessages != 0 {
		return 0, fmt.Errorf("%s's INBOX on %s holds %d messages: start from an empty one",
			user, addr, *st.NumMessages)
	}
	t0 := time.Now()
	for i, m := range msgs {
		cmd := c.Append("INBOX", int64(len(m.raw)), &imap.AppendOptions{Time: m.date})
		if _, err := cmd.Write(m.raw); err != nil {
			return 0, fmt.Errorf("append %d: %w", i+1, err)
		}
		if err := cmd.Close(); err != nil {
			return 0, fmt.Errorf("append %d: %w", i+1, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return 0, fmt.Errorf("append %d: %w", i+1, err)
		}
	}
	return time.Since(t0), c.Logout().Wait()
}

// summary is what the check compares of one message.
type summary struct {
	subject, messageID, from, date string
	to                             int
	structure                      string
}

// summaries fetches the ENVELOPE and BODYSTRUCTURE of every message of
// user's INBOX with go-imap's parser, keyed by UID.
func summaries(addr, user, pass string) (map[imap.UID]summary, error) {
	c, err := dial(addr, user, pass)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}},
		&imap.FetchOptions{UID: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{}}).Collect()
	if err != nil {
		return nil, err
	}
	out := make(map[imap.UID]summary, len(msgs))
	for _, m := range msgs {
		s := summary{}
		if e := m.Envelope; e != nil {
			s.subject, s.messageID, s.to = e.Subject, e.MessageID, len(e.To)
			s.date = e.Date.UTC().Format(time.RFC3339)
			if len(e.From) > 0 {
				s.from = e.From[0].Addr()
			}
		}
		if m.BodyStructure != nil {
			s.structure = describe(m.BodyStructure)
		}
		out[m.UID] = s
	}
	return out, c.Logout().Wait()
}

// describe writes a body structure as its media types and part sizes.
func describe(bs imap.BodyStructure) string {
	switch b := bs.(type) {
	case *imap.BodyStructureMultiPart:
		s := b.MediaType() + "("
		for _, p := range b.Children {
			s += describe(p) + " "
		}
		return s + ")"
	case *imap.BodyStructureSinglePart:
		return fmt.Sprintf("%s/%d/%s", b.MediaType(), b.Size, b.Encoding)
	}
	return "?"
}

// compare checks that two servers describe the same messages the same
// way, and returns how many differ and the first difference.
func compare(a, b map[imap.UID]summary) (int, string) {
	bad, first := 0, ""
	if len(a) != len(b) {
		return 1, fmt.Sprintf("%d messages against %d", len(a), len(b))
	}
	for uid, x := range a {
		if y := b[uid]; x != y {
			bad++
			if first == "" {
				first = fmt.Sprintf("UID %d: %+v against %+v", uid, x, y)
			}
		}
	}
	return bad, first
}
