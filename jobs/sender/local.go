package sender

import (
	"context"
	"errors"
	"time"

	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/outbound"
)

// localMX is the RemoteMX recorded for local deliveries.
const localMX = "local"

// deliverLocal stores raw in the mailboxes of the unit's recipients, who
// belong to a hosted domain, through the inbound delivery path. Unlike an
// SMTP transaction, each recipient has its own outcome: one whose mailbox
// is full is deferred while the others get their copy.
func (s *Sender) deliverLocal(ctx context.Context, u *queue.Unit, raw []byte) []outbound.RecipientResult {
	start := time.Now()
	results := make([]outbound.RecipientResult, len(u.Recipients))
	// owner[i] is the recipient of the unit that delivery recipient i
	// serves: an alias expands to several accounts.
	var rcpts []delivery.Recipient
	var owner []int
	for i, r := range u.Recipients {
		results[i] = outbound.RecipientResult{Address: r.Address, RemoteMX: localMX}
		targets, err := directory.LookupRecipient(ctx, s.client, r.Address)
		switch {
		case errors.Is(err, directory.ErrNoSuchUser), errors.Is(err, directory.ErrInvalidAddress),
			errors.Is(err, directory.ErrNotHosted):
			results[i].Status, results[i].Code, results[i].EnhancedCode = outbound.StatusBounced, 550, "5.1.1"
			results[i].Response = "no such user here"
		case errors.Is(err, directory.ErrDisabled):
			results[i].Status, results[i].Code, results[i].EnhancedCode = outbound.StatusBounced, 550, "5.2.1"
			results[i].Response = "mailbox disabled"
		case err != nil:
			results[i].Status, results[i].EnhancedCode = outbound.StatusDeferred, "4.3.0"
			results[i].Response = "recipient lookup failed"
		default:
			for _, t := range targets {
				rcpts = append(rcpts, delivery.Recipient{Target: t, Mailbox: "INBOX"})
				owner = append(owner, i)
			}
		}
	}
	if len(rcpts) > 0 {
		final := withReturnPath(raw, u.MailFrom)
		_, errs, err := s.opts.Local.Deliver(ctx, &delivery.Message{
			Raw:        final,
			Parsed:     message.Parse(final, s.opts.Parse),
			Recipients: rcpts,
		})
		// An alias delivered to any of its accounts counts as delivered.
		got := make([]bool, len(u.Recipients))
		var why = make([]error, len(u.Recipients))
		for j, i := range owner {
			switch {
			case err != nil:
				why[i] = err
			case errs == nil || errs[j] == nil:
				got[i] = true
			default:
				why[i] = errs[j]
			}
		}
		for i := range u.Recipients {
			if results[i].Status != "" {
				continue
			}
			r := &results[i]
			r.Status, r.Code, r.EnhancedCode, r.Response = localOutcome(got[i], why[i])
		}
	}
	for i := range results {
		results[i].Duration = time.Since(start)
	}
	return results
}

// localOutcome maps a local delivery's result to an SMTP-like outcome.
func localOutcome(delivered bool, err error) (outbound.Status, int, string, string) {
	switch {
	case delivered:
		return outbound.StatusDelivered, 250, "2.0.0", "delivered to the mailbox"
	case errors.Is(err, delivery.ErrOverQuota):
		return outbound.StatusDeferred, 452, "4.2.2", "mailbox full"
	case errors.Is(err, delivery.ErrNoAccount):
		return outbound.StatusBounced, 550, "5.1.1", "no such user here"
	default:
		return outbound.StatusDeferred, 451, "4.3.0", "local delivery failed, will retry"
	}
}

// withReturnPath prepends the Return-Path field a final delivery adds
// (RFC 5321 §4.4).
func withReturnPath(raw []byte, mailFrom string) []byte {
	h := "Return-Path: <" + mailFrom + ">\r\n"
	out := make([]byte, 0, len(h)+len(raw))
	return append(append(out, h...), raw...)
}
