package sender

import (
	"context"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/mail/dsn"
	"github.com/lightr-mail/lightr/mail/outbound"
	"github.com/lightr-mail/lightr/mail/outbox"
)

// queueBounces is the queue.Policy.OnFailures of a Sender: inside the
// transaction that records the failures, it queues one delivery status
// notification for the unit's sender listing the failed recipients.
func (s *Sender) queueBounces(ctx context.Context, tx *ent.Client, u *queue.Unit, failures []queue.Failure) error {
	raw, err := s.load(ctx, u)
	if err != nil {
		return fmt.Errorf("sender: bounce: %w", err)
	}
	if !dsn.ShouldBounce(u.MailFrom, raw) {
		return nil
	}
	dom, err := s.domains.Get(ctx, u.SenderDomain)
	if err != nil {
		return fmt.Errorf("sender: bounce: %w", err)
	}
	now := s.opts.Now()
	report := &dsn.Report{Sender: u.MailFrom, ArrivalDate: u.QueuedAt, Original: raw}
	for _, f := range failures {
		r := f.Result
		status := r.EnhancedCode // an expiry keeps its last 4.x.x (RFC 3464 §2.3.4)
		if status == "" {
			status = "5.0.0"
		}
		report.Recipients = append(report.Recipients, dsn.Recipient{
			FinalRecipient: f.Recipient.Address,
			Action:         dsn.ActionFailed,
			Status:         status,
			RemoteMTA:      remoteMTA(r),
			Diagnostic:     diagnostic(r),
			LastAttempt:    now,
		})
	}
	b := &dsn.Builder{
		Hostname: s.opts.Hostname,
		From:     "Mail Delivery System <MAILER-DAEMON@" + dom.Name + ">",
		Now:      func() time.Time { return now },
	}
	msg, err := b.Build(report)
	if err != nil {
		return fmt.Errorf("sender: bounce: %w", err)
	}
	_, err = outbox.Queue(ctx, tx, s.store, &outbox.Message{
		Org:        u.OrgID,
		Domain:     u.SenderDomain,
		MailFrom:   dsn.NullSender,
		Recipients: []string{u.MailFrom},
		Raw:        msg,
		Source:     outboundmessage.SourceBounce,
		Subject:    "Undelivered Mail Returned to Sender",
	})
	if err != nil {
		return fmt.Errorf("sender: bounce: %w", err)
	}
	s.count(func(st *Stats) { st.Bounces++ })
	return nil
}

// remoteMTA is the server that answered, if one did.
func remoteMTA(r outbound.RecipientResult) string {
	if r.RemoteMX == localMX {
		return ""
	}
	return r.RemoteMX
}

// diagnostic is the reply as received: "550 5.1.1 text", or Lightr's own
// description when no server answered.
func diagnostic(r outbound.RecipientResult) string {
	if r.Code == 0 {
		return r.Response
	}
	if r.EnhancedCode != "" {
		return fmt.Sprintf("%d %s %s", r.Code, r.EnhancedCode, r.Response)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Response)
}
