package delivery

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lightr-mail/lightr/mail/message"
)

// States of a request; the committer and a canceled caller race to move
// it out of stateQueued, and only one wins.
const (
	stateQueued int32 = iota
	stateTaken
	stateCanceled
)

// maxPreview is the length limit of the messages.preview column.
const maxPreview = 512

// request is one Deliver call waiting for the committer. The caller fills
// everything up to done; the committer fills the results, then closes
// done.
type request struct {
	msg   *Message
	cache cacheColumns
	state atomic.Int32
	done  chan struct{}

	delivered []Delivered
	errs      []error
	err       error
}

// cacheColumns are the message columns that come from the parser and the
// authentication checks, encoded by the caller's goroutine so that the
// committer, which holds the database's only writer, does not.
type cacheColumns struct {
	internalDate   time.Time
	size           int64
	subject        string
	fromAddress    string
	fromName       string
	to, cc         any // JSON text, or nil for NULL
	sentAt         any // time.Time, or nil for NULL
	messageID      string
	preview        string
	hasAttachments bool
	attachments    any // JSON, or nil
	envelope       any // []byte, or nil
	bodyStructure  any // []byte, or nil
}

// newRequest prepares m for the committer.
func newRequest(m *Message) (*request, error) {
	c, err := cacheOf(m)
	if err != nil {
		return nil, err
	}
	r := &request{msg: m, cache: c, done: make(chan struct{})}
	r.state.Store(stateQueued)
	return r, nil
}

// cacheOf encodes the cache columns of m.
func cacheOf(m *Message) (cacheColumns, error) {
	c := cacheColumns{internalDate: m.InternalDate, size: int64(len(m.Raw))}
	if c.internalDate.IsZero() {
		c.internalDate = time.Now()
	}
	p := m.Parsed
	if p == nil {
		return c, nil
	}
	c.subject = p.Subject
	c.fromAddress = p.From.Email
	c.fromName = p.From.Name
	c.messageID = p.MessageID
	c.preview = truncate(p.Preview, maxPreview)
	c.hasAttachments = p.HasAttachments
	if p.Date != nil {
		c.sentAt = *p.Date
	}
	if len(p.Envelope) > 0 {
		c.envelope = p.Envelope
	}
	if len(p.BodyStructure) > 0 {
		c.bodyStructure = p.BodyStructure
	}
	var err error
	if c.to, err = emailsJSON(p.To); err != nil {
		return c, err
	}
	if c.cc, err = emailsJSON(p.Cc); err != nil {
		return c, err
	}
	if len(p.Attachments) > 0 {
		b, err := message.EncodeAttachments(p.Attachments)
		if err != nil {
			return c, fmt.Errorf("delivery: %w", err)
		}
		c.attachments = b
	}
	return c, nil
}

// emailsJSON encodes the addresses of as as Ent encodes a strings field:
// a JSON array, or NULL when there are none.
func emailsJSON(as []message.Address) (any, error) {
	if len(as) == 0 {
		return nil, nil
	}
	emails := make([]string, len(as))
	for i, a := range as {
		emails[i] = a.Email
	}
	b, err := json.Marshal(emails)
	if err != nil {
		return nil, fmt.Errorf("delivery: encode addresses: %w", err)
	}
	return b, nil
}

// truncate shortens s to at most n bytes without splitting a UTF-8
// sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back off while s[n] continues the rune that the cut would split.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// mailboxName returns the mailbox r gets the message in.
func mailboxName(r Recipient) string {
	if r.Mailbox == "" || strings.EqualFold(r.Mailbox, Inbox) {
		return Inbox
	}
	return r.Mailbox
}
