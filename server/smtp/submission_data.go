package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/server/db"
)

// Data implements gosmtp.Session (DATA and BDAT): check the bytes and
// the From field, add the trace and the fields RFC 6409 §8 lets a
// submission server supply, and queue the message for every recipient
// before answering 250. Submitted mail is not checked against SPF or
// DMARC: the sender authenticated, and the verdicts would be about
// Lightr's own address.
func (ss *subSession) Data(r io.Reader) error {
	start := time.Now()
	raw, err := ss.readData(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dataTimeout)
	defer cancel()

	p := message.Parse(raw, ss.srv.opts.Parse)
	if bad, err := ss.foreignFrom(ctx, p.Env); err != nil {
		ss.log.Error("from lookup failed", "err", err)
		return ss.localError()
	} else if bad != "" {
		return ss.reject(r550FromNotOwned, "from header not owned", "from_header", truncate(bad, 100))
	}

	final, msgID := ss.compose(raw, start)
	if msgID == "" {
		msgID = p.MessageID
	}
	out, err := ss.queue(ctx, &outbox.Message{
		Org:             ss.viewer.OrgID,
		Domain:          ss.domain,
		MailFrom:        ss.from,
		Recipients:      ss.rcpts,
		Raw:             final,
		Source:          outboundmessage.SourceSubmission,
		Subject:         p.Subject,
		MessageIDHeader: msgID,
	})
	if errors.Is(err, dkim.ErrMalformed) {
		// No retry would help: the message itself is at fault.
		return ss.reject(r554Unsignable, "message cannot be signed", "err", err)
	}
	if err != nil {
		ss.log.Error("queueing failed", "err", err)
		return ss.localError()
	}
	ss.srv.be.Wake()
	ss.log.Info("message queued",
		"from", truncate(ss.from, 100), "rcpts", len(out.Edges.Recipients), "size", len(final),
		"msg_id", out.ID, "duration", time.Since(start).Round(time.Microsecond))
	return nil
}

// foreignFrom returns the first address of the From field that the
// principal may not send as, or "". A message without a From field has
// none: its recipients' servers will judge it.
func (ss *subSession) foreignFrom(ctx context.Context, env *message.Envelope) (string, error) {
	if env == nil {
		return "", nil
	}
	for _, a := range env.From {
		if a.Mailbox == "" || a.Host == "" {
			continue // the start or end of a group
		}
		addr := a.Mailbox + "@" + a.Host
		if strings.EqualFold(addr, ss.from) {
			continue
		}
		_, err := ss.senderDomain(ctx, addr)
		if errors.Is(err, errNotOwned) {
			return addr, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// compose returns the message as queued: our Received field, then a
// Message-ID and a Date when the client gave none (RFC 6409 §8.2, §8.3),
// then the client's bytes without the fields only a receiving server may
// write (Return-Path, our Authentication-Results). msgID is the
// Message-ID added, without brackets, or "".
func (ss *subSession) compose(raw []byte, now time.Time) (final []byte, msgID string) {
	var b bytes.Buffer
	b.Grow(len(raw) + 512)
	t := trace{helo: ss.conn.Hostname(), remote: ss.remote, by: ss.srv.opts.Hostname, id: ss.id, auth: true}
	if state, ok := ss.conn.TLSConnectionState(); ok {
		t.tls = &state
	}
	if len(ss.rcpts) == 1 {
		t.rcpt = ss.rcpts[0]
	}
	writeReceived(&b, t, now)
	if !hasField(raw, "Message-ID") {
		msgID = strings.ToLower(rand.Text()) + "@" + ss.srv.opts.Hostname
		b.WriteString("Message-ID: <" + msgID + ">\r\n")
	}
	if !hasField(raw, "Date") {
		b.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	}
	writeWithout(&b, raw, ss.srv.opts.Hostname)
	return b.Bytes(), msgID
}

// queue stores m in one transaction and returns once it committed.
//
// It runs as the system, with the principal's viewer beside it for the
// hooks: the privacy rules let neither an account nor a key with only
// the send scope write outbound rows, and the session has already
// decided, more narrowly than those rules would, what this principal may
// send.
func (ss *subSession) queue(ctx context.Context, m *outbox.Message) (*ent.OutboundMessage, error) {
	if ss.account != nil {
		m.Account = ss.account.ID
	}
	ctx = systemContext(viewer.NewContext(ctx, ss.viewer))
	// Signed before the transaction, which holds the database's writer.
	d, err := ss.srv.be.Domains.Get(ctx, m.Domain)
	if err != nil {
		return nil, fmt.Errorf("sending domain: %w", err)
	}
	if err := outbox.Presign(m, d); err != nil {
		return nil, err
	}
	var out *ent.OutboundMessage
	err = db.InTx(ctx, ss.srv.be.Client, "smtp: queue", func(c *ent.Client) error {
		var err error
		out, err = outbox.Queue(ctx, c, ss.srv.be.Store, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	ss.srv.be.Notify.PublishEvents(m.Org)
	return out, nil
}

// hasField reports whether the header block of raw has a field called
// name (compared without case).
func hasField(raw []byte, name string) bool {
	rest := raw
	for len(rest) > 0 {
		n := fieldLen(rest)
		if n == 0 {
			return false
		}
		colon := bytes.IndexByte(rest[:n], ':')
		if colon >= 0 && strings.EqualFold(string(bytes.TrimSpace(rest[:colon])), name) {
			return true
		}
		rest = rest[n:]
	}
	return false
}
