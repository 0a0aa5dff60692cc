package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/verify"
)

// dataTimeout bounds verification and the commit of one message. A client
// waits for the reply to DATA; RFC 5321 §4.5.3.2.6 asks it to wait 10
// minutes, so this stays well inside that.
const dataTimeout = 2 * time.Minute

// Data implements gosmtp.Session (DATA and BDAT): check the bytes,
// verify the sender, add our headers, and store the message in every
// recipient's mailbox before answering 250.
func (ss *session) Data(r io.Reader) error {
	start := time.Now()
	raw, err := ss.readData(r)
	if err != nil {
		return err
	}
	if len(ss.rcpts) == 0 {
		// Every RCPT of an alias was over quota: nothing can be stored.
		return ss.reject(r452OverQuota, "no deliverable recipient")
	}

	ctx, cancel := context.WithTimeout(context.Background(), dataTimeout)
	defer cancel()
	res := ss.verify(ctx, raw)
	if err := ss.applyDMARC(ctx, res); err != nil {
		return err
	}

	final := ss.compose(raw, res, start)
	m := &delivery.Message{
		Raw:          final,
		Parsed:       message.Parse(final, ss.srv.opts.Parse),
		SPF:          res.SPF,
		DKIM:         res.DKIM,
		DMARC:        res.DMARC,
		AuthResults:  headerValue(res.Header),
		InternalDate: start,
		Recipients:   ss.rcpts,
		AllOrNothing: true,
	}
	delivered, _, err := ss.srv.deliverer.Deliver(ctx, m)
	var partial *delivery.RecipientsError
	switch {
	case errors.As(err, &partial):
		return ss.refuseForRecipients(m, partial)
	case err != nil:
		ss.log.Error("delivery failed", "err", err)
		return ss.localError()
	}
	ss.log.Info("message accepted",
		"from", truncate(ss.from, 100), "rcpts", len(delivered), "size", len(m.Raw),
		"spf", m.SPF, "dkim", m.DKIM, "dmarc", m.DMARC, "msg_id", delivered[0].MessageID,
		"duration", time.Since(start).Round(time.Microsecond))
	return nil
}

// verify runs SPF, DKIM and DMARC; without a verifier (tests) every
// verdict is none.
func (ss *session) verify(ctx context.Context, raw []byte) verify.Result {
	if ss.srv.verifier == nil {
		return verify.Result{SPF: "none", DKIM: "none", DMARC: "none"}
	}
	return ss.srv.verifier.Verify(ctx, verify.Input{
		RemoteIP: ss.remote.AsSlice(),
		Helo:     ss.conn.Hostname(),
		MailFrom: ss.from,
		Raw:      raw,
	})
}

// applyDMARC follows the sender domain's DMARC policy when the message
// fails DMARC (RFC 7489 §6.6.2). Under p=reject each receiving domain
// chooses: reject, or file into Junk (the default). One SMTP reply covers
// every recipient, so a single domain asking for reject rejects the
// message for all; the sender then gets a bounce, which is what p=reject
// asks for. Under p=quarantine the message goes to Junk.
func (ss *session) applyDMARC(ctx context.Context, res verify.Result) error {
	if res.DMARC != "fail" || ss.trusted {
		return nil
	}
	junk := res.DMARCPolicy == "quarantine"
	if res.RejectByDMARC() {
		reject, err := ss.anyDomainRejects(ctx)
		if err != nil {
			ss.log.Error("dmarc policy lookup failed", "err", err)
			return ss.localError()
		}
		if reject {
			return ss.reject(r550DMARC, "dmarc policy", "from_domain", res.FromDomain)
		}
		junk = true
	}
	if junk {
		for i := range ss.rcpts {
			ss.rcpts[i].Mailbox = "Junk"
		}
	}
	return nil
}

// anyDomainRejects reports whether a recipient's domain is set to reject
// mail failing DMARC under p=reject.
func (ss *session) anyDomainRejects(ctx context.Context) (bool, error) {
	ids := make([]pulid.ID, 0, len(ss.rcpts))
	for _, r := range ss.rcpts {
		ids = append(ids, r.DomainID)
	}
	return ss.srv.client.Domain.Query().
		Where(domain.IDIn(ids...), domain.DmarcRejectActionEQ(domain.DmarcRejectActionReject)).
		Exist(systemContext(ctx))
}

// refuseForRecipients answers a message that some recipient could not
// take at commit time (its mailbox filled up, or its account went, after
// RCPT TO). Nothing was stored; a temporary failure makes the client try
// again, and on the retry RCPT TO refuses that recipient alone, so the
// others get their copy and nobody's is lost.
func (ss *session) refuseForRecipients(m *delivery.Message, e *delivery.RecipientsError) error {
	for i, err := range e.Errs {
		if err != nil {
			ss.log.Warn("recipient cannot take the message", "rcpt", m.Recipients[i].Address, "err", err)
		}
	}
	if errors.Is(e, delivery.ErrOverQuota) {
		return ss.reject(r452OverQuota, "over quota at commit")
	}
	return ss.localError()
}

// bareNewline returns the offset of the first LF not preceded by CR or CR
// not followed by LF, or -1. go-smtp ends DATA only at CRLF.CRLF, but a
// message holding other line endings is refused whole: another MTA may
// read "LF.LF" or "CR.CR" as the end, which is how SMTP smuggling hides a
// second message inside the first.
//
// It goes from LF to LF with bytes.IndexByte, which scans many bytes at a
// time, rather than testing each byte: a clean line holds exactly one CR,
// just before its LF.
func bareNewline(b []byte) int {
	start := 0
	for {
		lf := bytes.IndexByte(b[start:], '\n')
		if lf < 0 {
			// No LF left, so any CR left is bare.
			if cr := bytes.IndexByte(b[start:], '\r'); cr >= 0 {
				return start + cr
			}
			return -1
		}
		line := b[start : start+lf]
		switch cr := bytes.IndexByte(line, '\r'); {
		case cr < 0:
			return start + lf // LF without CR
		case cr < len(line)-1:
			return start + cr // CR followed by something else than LF
		}
		start += lf + 1
	}
}

func systemContext(ctx context.Context) context.Context { return rule.SystemContext(ctx) }
