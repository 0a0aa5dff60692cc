package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/store"
)

// The event types of outbound mail, one event per recipient and change.
const (
	EventQueued    = "message.queued"
	EventDeferred  = "message.deferred"
	EventDelivered = "message.delivered"
	EventBounced   = "message.bounced"
	EventFailed    = "message.failed"
	EventCanceled  = "message.canceled"
	// EventOpened and EventClicked are a recipient's hits on the open
	// pixel and on a tracked link (mail/track).
	EventOpened  = "message.opened"
	EventClicked = "message.clicked"
)

// MaxRecipients bounds the recipients of one queued message, whatever the
// caller's own limit.
const MaxRecipients = 1000

// ErrInvalid wraps the reasons a message cannot be queued at all.
var ErrInvalid = errors.New("outbox: invalid message")

// Message is a message to queue.
type Message struct {
	// Org owns the message; Domain is the sending domain (whose DKIM keys
	// sign it) and Account the sending account, if an account sent it.
	Org     pulid.ID
	Domain  pulid.ID
	Account pulid.ID

	// MailFrom is the envelope sender; empty (the null reverse-path) for a
	// bounce.
	MailFrom string
	// Recipients are the envelope recipients. Duplicates (compared without
	// case) are queued once.
	Recipients []string
	// Raw is the message, with CRLF line endings, as it is to be sent
	// (before signing).
	Raw []byte

	Source outboundmessage.Source
	// Subject and MessageIDHeader are copied for listing in the API.
	Subject         string
	MessageIDHeader string
	// IdempotencyKey and RequestHash, when set, are stored for the API to
	// find a repeated request.
	IdempotencyKey string
	RequestHash    string
	// TrackOpens and TrackClicks turn open and click tracking on or off
	// for this message; nil means the sending domain's default. A bounce
	// is never tracked.
	TrackOpens, TrackClicks *bool

	// DKIMSignature and DKIMSelectors, set by Presign, are the message's
	// DKIM-Signature fields and the keys that made them
	// (SendingDomain.KeyIDs); Raw is then the form they sign. Empty, the
	// workers sign as they send.
	DKIMSignature []byte
	DKIMSelectors string
}

// Presign decides m's tracking with its sending domain d (as Queue would)
// and, when m is not tracked and d has keys, signs m now: the workers
// then send the stored signature instead of signing each attempt. A
// tracked message is signed as it is sent, since tracking rewrites it per
// recipient.
//
// Call it before the transaction that queues m where the caller can:
// signing is slow (RSA-2048 takes about a millisecond) and, inside, holds
// the database's one writer that long. Presign fails, leaving m unsigned,
// when a key cannot sign m; the caller answers with a temporary error
// rather than queue it unsigned.
func Presign(m *Message, d *SendingDomain) error {
	if d == nil || d.ID != m.Domain {
		return fmt.Errorf("outbox: presign: the sending domain does not match")
	}
	if m.Source == outboundmessage.SourceBounce {
		return nil
	}
	opens, clicks := d.TrackOpens, d.TrackClicks
	if m.TrackOpens != nil {
		opens = *m.TrackOpens
	}
	if m.TrackClicks != nil {
		clicks = *m.TrackClicks
	}
	// The decision made here is the one stored, even if the domain's
	// defaults change before the transaction.
	m.TrackOpens, m.TrackClicks = &opens, &clicks
	if opens || clicks || len(d.Keys) == 0 {
		return nil
	}
	sigs, msg, err := dkim.Signatures(m.Raw, d.Keys)
	if err != nil {
		return fmt.Errorf("outbox: DKIM signing: %w", err)
	}
	m.Raw, m.DKIMSignature, m.DKIMSelectors = msg, sigs, d.KeyIDs()
	return nil
}

// Queue stores m and queues it for each of its recipients, with c, which
// should be a transaction's client: the caller commits, then wakes the
// workers. The message is returned with its recipients loaded.
func Queue(ctx context.Context, c *ent.Client, st *store.Store, m *Message) (*ent.OutboundMessage, error) {
	rcpts, err := normalize(m.Recipients)
	if err != nil {
		return nil, err
	}
	if len(m.Raw) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrInvalid)
	}
	if st == nil {
		st = store.New()
	}
	blob, err := st.Save(ctx, c, m.Org, m.Raw)
	if err != nil {
		return nil, fmt.Errorf("outbox: save message: %w", err)
	}
	create := c.OutboundMessage.Create().
		SetOrganizationID(m.Org).
		SetDomainID(m.Domain).
		SetBlobID(blob.ID).
		SetMailFrom(m.MailFrom).
		SetSource(m.Source).
		SetSubject(m.Subject).
		SetMessageIDHeader(m.MessageIDHeader)
	if m.Account != "" {
		create.SetAccountID(m.Account)
	}
	if m.IdempotencyKey != "" {
		create.SetIdempotencyKey(m.IdempotencyKey).SetRequestHash(m.RequestHash)
	}
	if len(m.DKIMSignature) > 0 {
		create.SetDkimSignature(string(m.DKIMSignature)).SetDkimSelectors(m.DKIMSelectors)
	}
	if m.Source != outboundmessage.SourceBounce {
		opens, clicks, err := tracking(ctx, c, m)
		if err != nil {
			return nil, err
		}
		create.SetTrackOpens(opens).SetTrackClicks(clicks)
	}
	msg, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: create message: %w", err)
	}

	builders := make([]*ent.OutboundRecipientCreate, len(rcpts))
	for i, r := range rcpts {
		builders[i] = c.OutboundRecipient.Create().
			SetOrganizationID(m.Org).
			SetOutboundMessageID(msg.ID).
			SetAddress(r.address).
			SetDomain(r.domain)
	}
	rows, err := c.OutboundRecipient.CreateBulk(builders...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: create recipients: %w", err)
	}
	events := make([]*ent.EventCreate, len(rows))
	for i, r := range rows {
		events[i] = NewEvent(c, msg, r.Address, EventQueued, map[string]any{"status": "queued"})
	}
	if err := c.Event.CreateBulk(events...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("outbox: append events: %w", err)
	}
	msg.Edges.Recipients = rows
	return msg, nil
}

// tracking returns whether m is to be tracked: as it says, or else as
// its sending domain's defaults say. The choice is stored with the
// message, so a later change of the defaults leaves queued mail alone.
func tracking(ctx context.Context, c *ent.Client, m *Message) (opens, clicks bool, err error) {
	if m.TrackOpens != nil && m.TrackClicks != nil {
		return *m.TrackOpens, *m.TrackClicks, nil
	}
	d, err := c.Domain.Get(ctx, m.Domain)
	if err != nil {
		return false, false, fmt.Errorf("outbox: sending domain: %w", err)
	}
	opens, clicks = d.TrackOpens, d.TrackClicks
	if m.TrackOpens != nil {
		opens = *m.TrackOpens
	}
	if m.TrackClicks != nil {
		clicks = *m.TrackClicks
	}
	return opens, clicks, nil
}

// NewEvent returns the builder of an event of type typ about recipient
// rcpt of msg.
func NewEvent(c *ent.Client, msg *ent.OutboundMessage, rcpt, typ string, payload map[string]any) *ent.EventCreate {
	e := c.Event.Create().
		SetOrganizationID(msg.OrganizationID).
		SetType(typ).
		SetDomainID(msg.DomainID).
		SetMessageID(msg.ID).
		SetRecipient(rcpt).
		SetPayload(payload)
	if msg.AccountID != "" {
		e.SetAccountID(msg.AccountID)
	}
	return e
}

type recipient struct{ address, domain string }

// normalize checks the recipients and drops duplicates. The local part
// keeps its case (RFC 5321 §2.4 leaves it to the receiving server); the
// domain is lower-cased, since it is the unit key.
func normalize(addrs []string) ([]recipient, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrInvalid)
	}
	if len(addrs) > MaxRecipients {
		return nil, fmt.Errorf("%w: %d recipients, at most %d", ErrInvalid, len(addrs), MaxRecipients)
	}
	seen := make(map[string]bool, len(addrs))
	out := make([]recipient, 0, len(addrs))
	for _, a := range addrs {
		local, domain, err := splitRecipient(a)
		if err != nil {
			return nil, fmt.Errorf("%w: recipient %q: %w", ErrInvalid, a, err)
		}
		addr := local + "@" + domain
		key := strings.ToLower(addr)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, recipient{address: addr, domain: domain})
	}
	return out, nil
}

// splitRecipient splits a remote address. Only the domain is normalized;
// the local part must merely be something an SMTP RCPT command can carry
// (a dot-string or UTF-8, RFC 5321 §4.1.2, RFC 6531), without spaces,
// controls or angle brackets.
func splitRecipient(addr string) (local, domain string, err error) {
	addr = strings.TrimSpace(addr)
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", errors.New("not local@domain")
	}
	local = addr[:i]
	if len(local) > 64 {
		return "", "", errors.New("local part longer than 64 bytes")
	}
	if strings.ContainsFunc(local, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' || r == utf8.RuneError
	}) {
		return "", "", errors.New("local part has a character SMTP cannot carry")
	}
	domain, err = directory.NormalizeDomain(addr[i+1:])
	if err != nil {
		return "", "", err
	}
	return local, domain, nil
}
