package graph

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/graph/model"
	"github.com/lightr-mail/lightr/mail/message"
)

// RawPath returns the path, relative to the server's base URL, at which
// the HTTP API serves the raw message id.
func RawPath(id pulid.ID) string { return "/messages/" + string(id) + "/raw" }

// AttachmentPath returns the path, relative to the server's base URL, at
// which the HTTP API serves attachment index of message id, decoded.
func AttachmentPath(id pulid.ID, index int) string {
	return "/messages/" + string(id) + "/attachments/" + strconv.Itoa(index)
}

// blobFieldCost is the complexity of a field that reads the raw message
// (headers, textBody, htmlBody), against 1 for a column: it keeps a query
// from asking for the bodies of a long list of messages.
const blobFieldCost = 10

// contentKey is the context key of an operation's parsed messages.
type contentKey struct{}

// contents holds, for one GraphQL operation, what was parsed out of raw
// messages, so that a query asking for the headers and both bodies of a
// message loads and parses its blob once (only the parsed parts are kept,
// not the raw bytes), and the accounts that own the listed messages.
type contents struct {
	mu       sync.Mutex
	m        map[pulid.ID]*content
	accounts map[pulid.ID]*accountEntry
}

// accountEntry is one account, read once per operation however many of
// the listed messages it owns.
type accountEntry struct {
	once    sync.Once
	account *ent.Account
	err     error
}

// content is one message's parsed headers and bodies.
type content struct {
	once       sync.Once
	headers    []message.Header
	text, html string
	err        error
}

// get returns the entry for message id, creating it.
func (cs *contents) get(id pulid.ID) *content {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = make(map[pulid.ID]*content)
	}
	c, ok := cs.m[id]
	if !ok {
		c = &content{}
		cs.m[id] = c
	}
	return c
}

// account returns the entry for account id, creating it.
func (cs *contents) account(id pulid.ID) *accountEntry {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.accounts == nil {
		cs.accounts = make(map[pulid.ID]*accountEntry)
	}
	a, ok := cs.accounts[id]
	if !ok {
		a = &accountEntry{}
		cs.accounts[id] = a
	}
	return a
}

// contentSchema gives every operation of the schema it wraps its own
// contents.
type contentSchema struct {
	graphql.ExecutableSchema
}

// Exec implements graphql.ExecutableSchema.
func (s contentSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	cs := &contents{}
	next := s.ExecutableSchema.Exec(context.WithValue(ctx, contentKey{}, cs))
	return func(ctx context.Context) *graphql.Response {
		return next(context.WithValue(ctx, contentKey{}, cs))
	}
}

// operationContents returns the operation's contents, or fresh ones
// outside an operation.
func operationContents(ctx context.Context) *contents {
	if cs, ok := ctx.Value(contentKey{}).(*contents); ok {
		return cs
	}
	return &contents{}
}

// account returns the account that owns m, reading each account once per
// operation: Message has no account edge in Ent, so field collection
// cannot load it with the page.
func (r *Resolver) account(ctx context.Context, m *ent.Message) (*ent.Account, error) {
	a := operationContents(ctx).account(m.AccountID)
	a.once.Do(func() { a.account, a.err = r.client(ctx).Account.Get(ctx, m.AccountID) })
	return a.account, a.err
}

// content returns the parsed headers and bodies of m, loading its raw
// message at most once per operation.
func (r *Resolver) content(ctx context.Context, m *ent.Message) (*content, error) {
	c := operationContents(ctx).get(m.ID)
	c.once.Do(func() { c.err = r.parse(ctx, m, c) })
	return c, c.err
}

// parse loads the raw message of m and fills in c.
func (r *Resolver) parse(ctx context.Context, m *ent.Message, c *content) error {
	cl := r.client(ctx)
	b, err := cl.Message.QueryBlob(m).Only(ctx)
	if err != nil {
		return fmt.Errorf("blob of message %s: %w", m.ID, err)
	}
	raw, err := r.store().Load(ctx, cl, b)
	if ent.IsNotFound(err) {
		// The message exists, so missing bytes are the server's fault, not
		// an unknown id: report them as an internal error.
		// (Not wrapped: that would make it NOT_FOUND.)
		return fmt.Errorf("raw message %s: bytes of blob %s missing: %s", m.ID, b.ID, err.Error())
	}
	if err != nil {
		return fmt.Errorf("raw message %s: %w", m.ID, err)
	}
	// Past the size limit, the fields read so far are still worth showing.
	c.headers, err = message.Headers(raw)
	if err != nil && !errors.Is(err, message.ErrHeaderTooLarge) {
		return fmt.Errorf("headers of message %s: %w", m.ID, err)
	}
	if c.text, c.html, err = message.Bodies(raw); err != nil {
		return fmt.Errorf("bodies of message %s: %w", m.ID, err)
	}
	return nil
}

// headers returns the header fields of m.
func (r *Resolver) headers(ctx context.Context, m *ent.Message) ([]*model.MessageHeader, error) {
	c, err := r.content(ctx, m)
	if err != nil {
		return nil, err
	}
	out := make([]*model.MessageHeader, len(c.headers))
	for i, h := range c.headers {
		out[i] = &model.MessageHeader{Name: h.Name, Value: h.Value}
	}
	return out, nil
}

// attachments lists the attachments of m from what delivery recorded.
func attachments(m *ent.Message) ([]*model.MessageAttachment, error) {
	as, err := message.DecodeAttachments(m.Attachments)
	if err != nil {
		return nil, fmt.Errorf("attachments of message %s: %w", m.ID, err)
	}
	out := make([]*model.MessageAttachment, len(as))
	for i, a := range as {
		out[i] = &model.MessageAttachment{
			Index:       a.Index,
			Filename:    a.Filename,
			ContentType: a.ContentType,
			Size:        int(a.Size),
			Inline:      a.Inline,
			ContentID:   optional(a.ContentID),
			DownloadURL: AttachmentPath(m.ID, a.Index),
		}
	}
	return out, nil
}
