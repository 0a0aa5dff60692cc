package track

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	"github.com/lightr-mail/lightr/ent/predicate"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbox"
)

// MaxUserAgent bounds the user agent stored with an event.
const MaxUserAgent = 512

// Recorder records hits on the tracking endpoints as events.
type Recorder struct {
	Client *ent.Client
	Signer *Signer
	// Notify hears of each recorded event after its commit; nil tells no
	// one.
	Notify *notify.Hub
	// MaxEvents bounds the events of one kind recorded per message and
	// recipient, so that a client fetching a pixel in a loop cannot fill
	// the log; later hits are served but not recorded. Zero means 100.
	MaxEvents int
}

// Hit is one request to a tracking endpoint.
type Hit struct {
	Kind      Kind
	Token     string
	UserAgent string
	// IP is the client's address, as the server determined it.
	IP string
}

// Record verifies h's token and appends its event: message.opened or
// message.clicked, with a payload of first (no earlier event of the kind
// for the recipient, or for a click of the URL), user_agent, ip and, for
// a click, url. It returns the token, whose URL a click redirects to, and
// whether the event was recorded. A token that does not verify, or whose
// message or recipient no longer exists, is ErrBadToken.
func (r *Recorder) Record(ctx context.Context, h Hit) (Token, bool, error) {
	t, err := r.Signer.Decode(h.Kind, h.Token)
	if err != nil {
		return Token{}, false, err
	}
	ctx = rule.SystemContext(ctx)
	msg, err := r.Client.OutboundMessage.Get(ctx, t.Message)
	if ent.IsNotFound(err) {
		return Token{}, false, ErrBadToken
	}
	if err != nil {
		return t, false, fmt.Errorf("track: message %s: %w", t.Message, err)
	}
	rcpt := ""
	if t.Recipient != "" {
		rc, err := r.Client.OutboundRecipient.Get(ctx, t.Recipient)
		if ent.IsNotFound(err) || (err == nil && rc.OutboundMessageID != msg.ID) {
			return Token{}, false, ErrBadToken
		}
		if err != nil {
			return t, false, fmt.Errorf("track: recipient %s: %w", t.Recipient, err)
		}
		rcpt = rc.Address
	}

	recorded, err := r.append(ctx, msg, rcpt, t, h)
	if err != nil {
		return t, false, err
	}
	if recorded && r.Notify != nil {
		r.Notify.PublishEvents(msg.OrganizationID)
	}
	return t, recorded, nil
}

// append writes the event in one transaction, which (SQLite's writer
// being one) sees every earlier hit: first is true exactly once.
func (r *Recorder) append(ctx context.Context, msg *ent.OutboundMessage, rcpt string, t Token,
	h Hit) (bool, error) {
	typ := outbox.EventOpened
	if t.Kind == KindClick {
		typ = outbox.EventClicked
	}
	limit := r.MaxEvents
	if limit <= 0 {
		limit = 100
	}
	tx, err := r.Client.Tx(ctx)
	if err != nil {
		return false, fmt.Errorf("track: begin: %w", err)
	}
	c := tx.Client()
	of := []predicate.Event{event.MessageID(msg.ID), event.Type(typ), event.Recipient(rcpt)}
	n, err := c.Event.Query().Where(of...).Count(ctx)
	if err != nil || n >= limit {
		return false, errors.Join(wrap("count events", err), tx.Rollback())
	}
	first := n == 0
	payload := map[string]any{"user_agent": clean(h.UserAgent), "ip": h.IP}
	if t.Kind == KindClick {
		payload["url"] = t.URL
		same, err := c.Event.Query().Where(of...).Where(func(s *sql.Selector) {
			s.Where(sqljson.ValueEQ(event.FieldPayload, t.URL, sqljson.Path("url")))
		}).Exist(ctx)
		if err != nil {
			return false, errors.Join(wrap("count clicks", err), tx.Rollback())
		}
		first = !same
	}
	payload["first"] = first
	if err := outbox.NewEvent(c, msg, rcpt, typ, payload).Exec(ctx); err != nil {
		return false, errors.Join(wrap("append event", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return false, wrap("commit", err)
	}
	return true, nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("track: %s: %w", what, err)
}

// clean bounds a user agent and drops controls and invalid UTF-8.
func clean(ua string) string {
	if len(ua) > MaxUserAgent {
		ua = ua[:MaxUserAgent]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, ua)
}
