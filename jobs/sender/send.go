package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/outbox"
)

// loadTimeout bounds reading a unit's message from the database.
const loadTimeout = 30 * time.Second

// send delivers one unit and records the outcome.
func (s *Sender) send(ctx context.Context, u *queue.Unit) {
	sys := rule.SystemContext(ctx)
	log := s.log.With("message", u.MessageID, "domain", u.Domain, "attempt", u.Attempts+1)

	raw, err := s.load(sys, u)
	if err != nil {
		// The database is unwell; give the unit back for a later claim.
		log.Error("load message", "err", err)
		s.release(sys, u, log)
		return
	}

	var results []outbound.RecipientResult
	local, err := s.isLocal(sys, u)
	switch {
	case err != nil:
		log.Error("recipient lookup", "err", err)
		s.release(sys, u, log)
		return
	case local:
		results = s.deliverLocal(sys, u, s.trackedLocal(sys, u, raw, log))
	default:
		results, err = s.deliverRemote(sys, u, raw)
		if err != nil && ctx.Err() != nil && !anyDelivered(results) {
			// Cut off by shutdown before anyone took the message: no
			// attempt was really made.
			s.release(rule.SystemContext(context.WithoutCancel(ctx)), u, log)
			return
		}
	}

	// Record the outcome even when shutting down: it happened. The
	// worker moves on at once (the unit stays leased until the outcome is
	// written); the recorder writes it with others and then calls back.
	s.rec.Submit(&queue.Outcome{Unit: u, Results: results}, func(out *queue.Outcome) {
		s.recorded(out, log)
	})
}

// recorded reports an outcome the recorder has written (or failed to):
// the events to their readers, the counters, and a line per recipient.
func (s *Sender) recorded(out *queue.Outcome, log *slog.Logger) {
	u, results := out.Unit, out.Results
	switch {
	case errors.Is(out.Err, queue.ErrLeaseLost):
		s.count(func(st *Stats) { st.LeaseLost++ })
		log.Warn("lease lost before the outcome was recorded; another worker has the unit")
		return
	case out.Err != nil:
		log.Error("record outcome", "err", out.Err)
		return
	}
	s.opts.Notify.PublishEvents(u.OrgID)
	if len(out.Failures) > 0 {
		s.Wake() // for the bounce queued with them
	}
	s.count(func(st *Stats) {
		for _, r := range results {
			switch r.Status {
			case outbound.StatusDelivered:
				st.Delivered++
			case outbound.StatusDeferred:
				st.Deferred++
			case outbound.StatusBounced:
				st.Bounced++
			case outbound.StatusFailed:
				st.Failed++
			}
		}
	})
	for _, r := range results {
		log.Info("delivery", "rcpt", r.Address, "status", string(r.Status), "code", r.Code,
			"enhanced", r.EnhancedCode, "mx", r.RemoteMX, "tls", r.TLS, "response", r.Response,
			"duration", r.Duration.Round(time.Millisecond))
	}
}

// load returns the unit's raw message.
func (s *Sender) load(ctx context.Context, u *queue.Unit) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	if u.BlobKey != "" {
		return s.store.Blobs.Get(ctx, s.client, u.BlobKey)
	}
	b, err := s.client.Blob.Get(ctx, u.BlobID)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", u.BlobID, err)
	}
	return s.store.Load(ctx, s.client, b)
}

// isLocal reports whether the unit's domain is hosted here.
func (s *Sender) isLocal(ctx context.Context, u *queue.Unit) (bool, error) {
	if local, ok := s.hosted.get(u.Domain, s.opts.Now()); ok {
		return local, nil
	}
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	_, err := directory.FindDomain(ctx, s.client, u.Domain)
	var local bool
	switch {
	case err == nil:
		local = true
	case ent.IsNotFound(err), errors.Is(err, directory.ErrInvalidAddress):
	default:
		return false, err
	}
	s.hosted.put(u.Domain, local, s.opts.Now())
	return local, nil
}

// deliverRemote signs raw and sends it to the unit's domain: one copy
// to all its recipients, or, when its tracking tells recipients apart,
// one copy each.
func (s *Sender) deliverRemote(ctx context.Context, u *queue.Unit, raw []byte) ([]outbound.RecipientResult, error) {
	dom, err := s.domains.Get(ctx, u.SenderDomain)
	if err != nil {
		return allDeferred(u.Recipients, "4.3.0", "cannot read the sending domain: "+err.Error()), nil
	}
	c := s.opts.Remote
	if s.opts.Smarthost != nil && (s.opts.UseSmarthost == nil || s.opts.UseSmarthost(dom.Name)) {
		c = s.opts.Smarthost
	}
	if c == nil {
		return allDeferred(u.Recipients, "4.3.5", "no route: the smarthost does not serve "+dom.Name), nil
	}
	if s.perRecipient(u) {
		return s.deliverEach(ctx, c, u, dom, raw)
	}
	return s.deliverCopy(ctx, c, u, dom, u.Recipients, raw)
}

// deliverCopy tracks raw for rcpts (who are u's recipients, or some of
// them), signs it and sends it to them in one transaction.
func (s *Sender) deliverCopy(ctx context.Context, c *outbound.Client, u *queue.Unit, dom *outbox.SendingDomain,
	rcpts []queue.Recipient, raw []byte) ([]outbound.RecipientResult, error) {
	// Tracking comes first, so that the signature covers the links sent.
	signed, err := s.tracked(u, dom, rcpts, raw)
	if err != nil {
		return allDeferred(rcpts, "4.3.0", err.Error()), nil
	}
	switch {
	case s.presigned(u, dom):
		signed = append([]byte(u.DKIMSignature), raw...)
	case len(dom.Keys) > 0:
		signed, err = dkim.Sign(signed, dom.Keys)
		if err != nil {
			// Never send unsigned what should be signed.
			return allDeferred(rcpts, "4.7.0", "DKIM signing failed: "+err.Error()), nil
		}
		s.count(func(st *Stats) { st.Signed++ })
	}
	addrs := make([]string, len(rcpts))
	for i, r := range rcpts {
		addrs[i] = r.Address
	}
	res, err := c.Deliver(ctx, u.Domain, u.MailFrom, addrs, signed)
	if res == nil {
		// Arguments Deliver cannot send at all, such as a malformed
		// sender: no retry will help.
		return allStatus(rcpts, outbound.StatusFailed, "5.5.2", err.Error()), nil
	}
	return res.Recipients, err
}

// presigned reports whether u's message goes out with the signature made
// when it was queued: it has one, it is sent as it was queued (no
// tracking), and the domain still signs with exactly those keys. A key
// rotated or revoked since, one added, or one replaced under the same
// selector means signing afresh, so that no message leaves with a
// signature whose key is going away.
func (s *Sender) presigned(u *queue.Unit, dom *outbox.SendingDomain) bool {
	return u.DKIMSignature != "" && !s.tracks(u) && u.DKIMSelectors == dom.KeyIDs()
}

// release gives u back without counting an attempt.
func (s *Sender) release(ctx context.Context, u *queue.Unit, log interface {
	Warn(string, ...any)
},
) {
	s.count(func(st *Stats) { st.Released++ })
	if err := queue.Release(ctx, s.client, u); err != nil && !errors.Is(err, queue.ErrLeaseLost) {
		log.Warn("release failed; the lease will expire", "err", err)
	}
}

func (s *Sender) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func anyDelivered(rs []outbound.RecipientResult) bool {
	for _, r := range rs {
		if r.Status == outbound.StatusDelivered {
			return true
		}
	}
	return false
}

func allDeferred(rcpts []queue.Recipient, code, text string) []outbound.RecipientResult {
	return allStatus(rcpts, outbound.StatusDeferred, code, text)
}

func allStatus(rcpts []queue.Recipient, st outbound.Status, code, text string) []outbound.RecipientResult {
	rs := make([]outbound.RecipientResult, len(rcpts))
	for i, r := range rcpts {
		rs[i] = outbound.RecipientResult{Address: r.Address, Status: st, EnhancedCode: code, Response: text}
	}
	return rs
}
