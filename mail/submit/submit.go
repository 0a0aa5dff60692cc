package submit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/compose"
	"github.com/lightr-mail/lightr/mail/directory"
	mbox "github.com/lightr-mail/lightr/mail/mailbox"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/notify"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
)

// Limits of one request, whatever the options say.
const (
	// MaxRecipients bounds To, Cc and Bcc together; it is the SMTP
	// submission default (submission.max_recipients).
	MaxRecipients = 100
	// MaxIdempotencyKey bounds the length of an idempotency key.
	MaxIdempotencyKey = 256
)

// ErrSender is wrapped when the caller may not send as the From address:
// its domain is not one of the organization's, or, for an account, the
// address is neither the account's nor one of its aliases.
var ErrSender = errors.New("submit: not allowed to send as this address")

// Options are the services Send needs.
type Options struct {
	// Store saves raw messages; nil means the database store.
	Store *store.Store
	// Notify hears of the Sent mailbox a copy was filed to, once the
	// transaction committed; nil tells no one.
	Notify *notify.Hub
	// MaxMessageBytes bounds the built message; 0 means no bound.
	MaxMessageBytes int64
	// Parse bounds the parsing of the Sent copy.
	Parse message.Limits
	// Domains, when set, lets Send sign the message as it queues it
	// (mail/outbox.Presign); nil leaves signing to the workers.
	Domains *outbox.DomainCache
}

// Request is a message to send.
type Request struct {
	// From is "address" or "Name <address>".
	From string
	// To, Cc, Bcc and ReplyTo are addresses in the same form.
	To, Cc, Bcc, ReplyTo []string
	Subject              string
	Text, HTML           string
	Attachments          []compose.Attachment
	Headers              []compose.Field
	// IdempotencyKey, when set, makes a repeated request return the first
	// message.
	IdempotencyKey string
	// TrackOpens and TrackClicks override the sending domain's tracking
	// defaults; nil keeps them.
	TrackOpens, TrackClicks *bool
}

// Send queues r and returns the queued message with its recipients. c
// should be the client of the caller's transaction, which the caller
// commits and then wakes the workers. With o.Domains, the message is
// DKIM-signed here, so that the workers send the signature made once.
func Send(ctx context.Context, c *ent.Client, o Options, r *Request) (*ent.OutboundMessage, error) {
	if err := requireSend(ctx); err != nil {
		return nil, err
	}
	key := strings.TrimSpace(r.IdempotencyKey)
	if len(key) > MaxIdempotencyKey {
		return nil, inputErr("idempotencyKey", "longer than %d bytes", MaxIdempotencyKey)
	}
	from, err := compose.ParseAddress(r.From)
	if err != nil {
		return nil, composeErr("from", err)
	}
	d, account, err := sender(ctx, c, from.Email)
	if err != nil {
		return nil, err
	}
	hash := requestHash(r)
	if key != "" {
		if m, err := replay(ctx, c, d.OrganizationID, key, hash); m != nil || err != nil {
			return m, err
		}
	}
	env, err := envelope(r)
	if err != nil {
		return nil, err
	}
	raw, msgID, err := build(r, from, d.Name, o.MaxMessageBytes)
	if err != nil {
		return nil, err
	}

	// The caller may send as From; what follows writes rows it could not
	// write itself with only the send scope (blob, recipients, events, the
	// Sent copy), all of the sending domain's organization.
	sys := rule.SystemContext(ctx)
	msg := &outbox.Message{
		Org: d.OrganizationID, Domain: d.ID, Account: account,
		MailFrom: from.Email, Recipients: env, Raw: raw,
		Source: outboundmessage.SourceAPI, Subject: r.Subject, MessageIDHeader: msgID,
		IdempotencyKey: key, RequestHash: hash,
		TrackOpens: r.TrackOpens, TrackClicks: r.TrackClicks,
	}
	if err := presign(sys, o, msg); err != nil {
		return nil, err
	}
	m, err := outbox.Queue(sys, c, o.Store, msg)
	switch {
	case key != "" && ent.IsConstraintError(err):
		// A concurrent request with the same key committed first.
		return replayAfterConflict(ctx, c, d.OrganizationID, key, hash, err)
	case errors.Is(err, outbox.ErrInvalid):
		return nil, inputErr("input", "%s", strings.TrimPrefix(err.Error(), outbox.ErrInvalid.Error()+": "))
	case err != nil:
		return nil, err
	}
	if account != "" {
		if err := fileSent(sys, c, o, account, raw); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// presign signs m when o says how to read its sending domain.
//
// It runs inside the mutation's transaction (entgql's Transactioner opens
// it before any resolver), so a sendEmail holds the database's writer
// for its signature too, about a millisecond of CPU beside the commit's
// fsync; the alternative, a transaction begun after signing, would let a
// field that fails after sendEmail leave the message sent.
func presign(ctx context.Context, o Options, m *outbox.Message) error {
	if o.Domains == nil {
		return nil
	}
	d, err := o.Domains.Get(ctx, m.Domain)
	if err != nil {
		return fmt.Errorf("submit: sending domain: %w", err)
	}
	return outbox.Presign(m, d)
}

// requireSend refuses viewers without the send scope before anything is
// read. It is the one scope sending needs, as for SMTP submission: the
// rows that sending writes are written as the system, once the viewer's
// own reads (which the privacy rules confine to its organization) have
// shown what it may send as or act on.
func requireSend(ctx context.Context) error {
	if !viewer.FromContext(ctx).Has(viewer.ScopeSend) {
		return privacy.Denyf("submit: the %q scope is required", viewer.ScopeSend)
	}
	return nil
}

// sender returns the domain the caller sends from and the account that
// sends, if From is an account's (or an alias or tag of exactly one
// account's). The domain must be the viewer's organization's; another
// organization's domain looks like no domain at all. An account viewer may
// only send as itself.
func sender(ctx context.Context, c *ent.Client, from string) (*ent.Domain, pulid.ID, error) {
	dom, err := directory.NormalizeDomain(from[strings.LastIndexByte(from, '@')+1:])
	if err != nil {
		return nil, "", inputErr("from", "%v", err)
	}
	v := viewer.FromContext(ctx)
	q := c.Domain.Query().Where(domain.Name(dom))
	if !v.Admin() {
		q.Where(domain.OrganizationID(v.OrgID))
	}
	// As the system with the organization named: the send scope does not
	// include reading the organization's settings.
	d, err := q.Only(rule.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, "", fmt.Errorf("%w: %s is not a domain of this organization", ErrSender, dom)
	}
	if err != nil {
		return nil, "", fmt.Errorf("submit: sending domain: %w", err)
	}

	targets, err := directory.LookupRecipient(ctx, c, from)
	if err != nil && !errors.Is(err, directory.ErrNoSuchUser) && !errors.Is(err, directory.ErrDisabled) {
		return nil, "", fmt.Errorf("submit: look up sender %s: %w", from, err)
	}
	if v.Kind == viewer.KindAccount {
		for _, t := range targets {
			if t.AccountID == v.AccountID {
				return d, v.AccountID, nil
			}
		}
		return nil, "", fmt.Errorf("%w: %s is not this account's address", ErrSender, from)
	}
	// An alias of several accounts has no one Sent mailbox to file to.
	if len(targets) == 1 && targets[0].OrgID == d.OrganizationID {
		return d, targets[0].AccountID, nil
	}
	return d, "", nil
}

// envelope returns the envelope recipients: To, Cc and Bcc.
func envelope(r *Request) ([]string, error) {
	var out []string
	for _, l := range []struct {
		field string
		addrs []string
	}{{"to", r.To}, {"cc", r.Cc}, {"bcc", r.Bcc}} {
		for _, s := range l.addrs {
			a, err := compose.ParseAddress(s)
			if err != nil {
				return nil, composeErr(l.field, err)
			}
			out = append(out, a.Email)
		}
	}
	switch {
	case len(out) == 0:
		return nil, inputErr("to", "at least one recipient (to, cc or bcc) is needed")
	case len(out) > MaxRecipients:
		return nil, inputErr("to", "%d recipients; at most %d", len(out), MaxRecipients)
	}
	return out, nil
}

// build composes the message and returns it with its Message-ID.
func build(r *Request, from compose.Address, domain string, limit int64) ([]byte, string, error) {
	m := &compose.Message{
		From: from, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		Attachments: r.Attachments, Fields: r.Headers,
		MessageID: compose.NewMessageID(domain),
	}
	var err error
	if m.To, err = addresses("to", r.To); err != nil {
		return nil, "", err
	}
	if m.Cc, err = addresses("cc", r.Cc); err != nil {
		return nil, "", err
	}
	if m.ReplyTo, err = addresses("replyTo", r.ReplyTo); err != nil {
		return nil, "", err
	}
	raw, err := compose.Build(m)
	if err != nil {
		return nil, "", composeErr("input", err)
	}
	if limit > 0 && int64(len(raw)) > limit {
		return nil, "", inputErr("input", "the message is %d bytes; at most %d", len(raw), limit)
	}
	return raw, m.MessageID, nil
}

func addresses(field string, ss []string) ([]compose.Address, error) {
	out := make([]compose.Address, 0, len(ss))
	for _, s := range ss {
		a, err := compose.ParseAddress(s)
		if err != nil {
			return nil, composeErr(field, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// fileSent appends raw, seen, to the account's Sent mailbox (found by its
// special use, so a renamed Sent still gets it). An account without one
// gets no copy.
func fileSent(ctx context.Context, c *ent.Client, o Options, account pulid.ID, raw []byte) error {
	mb, err := c.Mailbox.Query().
		Where(mailbox.AccountID(account), mailbox.SpecialUseEQ(mailbox.SpecialUseSent)).
		First(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("submit: Sent mailbox: %w", err)
	}
	_, err = mbox.Append(ctx, c, o.Store, o.Notify, mbox.AppendInput{
		Mailbox: mb.ID, Raw: raw, Parsed: message.Parse(raw, o.Parse), Flags: mbox.FlagSet{Seen: true},
	})
	if errors.Is(err, mbox.ErrOverQuota) {
		return inputErr("from", "the sender's mailbox is over quota; its Sent copy does not fit")
	}
	if err != nil {
		return fmt.Errorf("submit: Sent copy: %w", err)
	}
	return nil
}

func inputErr(field, format string, a ...any) error {
	return &directory.InputError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// composeErr turns an error of mail/compose into an input error.
func composeErr(field string, err error) error {
	if !errors.Is(err, compose.ErrInvalid) {
		return err
	}
	return inputErr(field, "%s", strings.TrimPrefix(err.Error(), compose.ErrInvalid.Error()+": "))
}
