package sender

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/track"
)

// Tracking configures the open and click tracking of outbound mail
// (mail/track). Whether a message is tracked was decided when it was
// queued (OutboundMessage.track_opens and track_clicks).
type Tracking struct {
	// Signer signs the tokens of the links; nil sends every message as
	// it was queued.
	Signer *track.Signer
	// BaseURL is the scheme and host of the tracking endpoints, such as
	// "http://127.0.0.1:8080", for sending domains without a tracking
	// host; those with one get "https://<tracking host>".
	BaseURL string
	// PerRecipient is the most recipients of one unit that get a copy
	// each, in a transaction of their own, so that each one's opens and
	// clicks are told apart; a unit with more gets one copy whose links
	// name only the message. Zero means 25.
	PerRecipient int
}

// tracks reports whether u's message is to be tracked.
func (s *Sender) tracks(u *queue.Unit) bool {
	return s.opts.Tracking.Signer != nil && (u.TrackOpens || u.TrackClicks)
}

// perRecipient reports whether u's recipients each get their own copy.
func (s *Sender) perRecipient(u *queue.Unit) bool {
	n := s.opts.Tracking.PerRecipient
	if n <= 0 {
		n = 25
	}
	return s.tracks(u) && len(u.Recipients) > 1 && len(u.Recipients) <= n
}

// tracked returns raw with the tracking of u's message for the copy sent
// to rcpts: their own links when it is one recipient, the message's when
// it is several.
func (s *Sender) tracked(u *queue.Unit, dom *outbox.SendingDomain, rcpts []queue.Recipient,
	raw []byte) ([]byte, error) {
	if !s.tracks(u) {
		return raw, nil
	}
	l := track.Links{
		Base:    s.opts.Tracking.BaseURL,
		Opens:   u.TrackOpens,
		Clicks:  u.TrackClicks,
		Message: u.MessageID,
		Signer:  s.opts.Tracking.Signer,
	}
	if dom.TrackingHost != "" {
		l.Base = "https://" + dom.TrackingHost
	}
	if len(rcpts) == 1 {
		l.Recipient = rcpts[0].ID
	}
	out, _, err := track.Rewrite(raw, l)
	if err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	return out, nil
}

// deliverEach sends u's message to each of its recipients in a
// transaction of its own, in order, and returns their results in u's
// order. Shutdown stops it between copies; the recipients not yet tried
// are deferred.
func (s *Sender) deliverEach(ctx context.Context, c *outbound.Client, u *queue.Unit, dom *outbox.SendingDomain,
	raw []byte) ([]outbound.RecipientResult, error) {
	results := make([]outbound.RecipientResult, 0, len(u.Recipients))
	var last error
	for i := range u.Recipients {
		if ctx.Err() != nil {
			rest := allStatus(u.Recipients[i:], outbound.StatusDeferred, "4.4.2", "interrupted by shutdown")
			return append(results, rest...), ctx.Err()
		}
		rs, err := s.deliverCopy(ctx, c, u, dom, u.Recipients[i:i+1], raw)
		if err != nil {
			last = err
		}
		results = append(results, rs...)
	}
	return results, last
}

// trackedLocal returns raw tracked for u's hosted recipients, who share
// one stored copy: their own links when it is one recipient. If the
// sending domain cannot be read, the copy goes untracked: local delivery
// needs no signature either.
func (s *Sender) trackedLocal(ctx context.Context, u *queue.Unit, raw []byte, log *slog.Logger) []byte {
	if !s.tracks(u) {
		return raw
	}
	dom, err := s.domains.Get(ctx, u.SenderDomain)
	if err == nil {
		var out []byte
		if out, err = s.tracked(u, dom, u.Recipients, raw); err == nil {
			return out
		}
	}
	log.Warn("local copy sent untracked", "err", err)
	return raw
}
