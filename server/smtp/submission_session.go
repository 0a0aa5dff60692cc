package smtp

import (
	"context"
	"errors"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
)

// subSession is one submission connection. Like session, it is used from
// the connection's goroutine only.
//
// Who may send as whom (RFC 6409 §6.1 leaves the policy to the server):
//
//   - an account: its own address (with any +tag) and the aliases that
//     deliver to it, in its own organization, which is what Postfix's
//     reject_sender_login_mismatch allows with the alias map as login map;
//   - an API key with the send scope: any address at a domain of its
//     organization;
//   - nobody: the null reverse-path, since only Lightr sends bounces.
//
// The same rule applies to every address of the From header field, not
// only to MAIL FROM as in Postfix: Lightr signs the message with the
// sending domain's DKIM key, so an unchecked From would let one account
// send DMARC-aligned mail in a colleague's name.
type subSession struct {
	peer
	srv *Submission

	// Set by AUTH: the viewer, and for a password login the account.
	viewer  *viewer.Viewer
	account *ent.Account

	// The transaction: reset by RSET, by a new MAIL and after DATA.
	mailSet bool
	from    string
	domain  pulid.ID // the sending domain, MAIL FROM's
	rcpts   []string
}

// errNotOwned is senderDomain's answer for an address the session's
// principal may not send as.
var errNotOwned = errors.New("smtp: sender address not owned")

// newSession is called by go-smtp after EHLO/HELO, and again after
// STARTTLS, which ends the session before it.
func (s *Submission) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &subSession{peer: newPeer(c, s.ids.Next(), &s.opts.Options, s.log), srv: s}, nil
}

// Reset implements gosmtp.Session (RSET, and after each message).
func (ss *subSession) Reset() {
	ss.mailSet, ss.from, ss.domain, ss.rcpts = false, "", "", nil
}

// Mail implements gosmtp.Session (MAIL FROM): only after AUTH, and only
// from an address the principal owns.
func (ss *subSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.viewer == nil {
		return ss.reject(r530AuthRequired, "mail before auth")
	}
	if from == "" {
		return ss.reject(r550NullSender, "null sender")
	}
	addr, ok := checkPath(from)
	if !ok {
		return ss.reject(r553BadSender, "bad sender", "from", truncate(from, 100))
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()

	dom, err := ss.senderDomain(ctx, addr)
	switch {
	case errors.Is(err, errNotOwned):
		return ss.reject(r550SenderNotOwned, "sender not owned", "from", truncate(addr, 100))
	case err != nil:
		ss.log.Error("sender lookup failed", "err", err)
		return ss.localError()
	}
	ss.Reset()
	ss.mailSet, ss.from, ss.domain = true, addr, dom
	return nil
}

// Rcpt implements gosmtp.Session (RCPT TO). Any domain may be the
// destination: the client authenticated, so this is not relaying. But an
// address of a hosted domain that does not exist is refused now, as
// Postfix's reject_unlisted_recipient does, rather than bounced later.
func (ss *subSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if !ss.mailSet {
		return ss.reject(r503BadSequence, "rcpt before mail")
	}
	addr, ok := checkPath(to)
	if ok {
		// The queue keys deliveries by host name: no address literals.
		_, err := directory.NormalizeDomain(addr[strings.LastIndexByte(addr, '@')+1:])
		ok = err == nil
	}
	if !ok {
		return ss.reject(r553BadRecipient, "bad recipient", "rcpt", truncate(to, 100))
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()

	_, err := directory.LookupRecipient(ctx, ss.srv.be.Client, addr)
	switch {
	case err == nil, errors.Is(err, directory.ErrNotHosted):
	case errors.Is(err, directory.ErrNoSuchUser), errors.Is(err, directory.ErrInvalidAddress):
		return ss.reject(r550NoSuchUser, "unknown local recipient", "rcpt", truncate(addr, 100))
	case errors.Is(err, directory.ErrDisabled):
		return ss.reject(r550Disabled, "disabled local recipient", "rcpt", truncate(addr, 100))
	default:
		ss.log.Error("recipient lookup failed", "err", err)
		return ss.localError()
	}
	ss.rcpts = append(ss.rcpts, addr)
	return nil
}

// senderDomain returns the id of addr's domain when the session's
// principal may send as addr (see subSession), else errNotOwned.
func (ss *subSession) senderDomain(ctx context.Context, addr string) (pulid.ID, error) {
	name, err := directory.NormalizeDomain(addr[strings.LastIndexByte(addr, '@')+1:])
	if err != nil {
		return "", errNotOwned
	}
	// The principal was authenticated by other means than a viewer
	// context can express (an account may not read domains), so the
	// lookup runs as the system, confined to the principal's organization.
	sys := systemContext(ctx)
	d, err := ss.srv.be.Client.Domain.Query().
		Where(domain.Name(name), domain.OrganizationID(ss.viewer.OrgID)).
		Only(sys)
	if ent.IsNotFound(err) {
		return "", errNotOwned
	}
	if err != nil {
		return "", err
	}
	if ss.account == nil {
		return d.ID, nil // an organization's key sends from any of its domains
	}

	targets, err := directory.LookupRecipient(ctx, ss.srv.be.Client, addr)
	switch {
	case errors.Is(err, directory.ErrNotHosted), errors.Is(err, directory.ErrNoSuchUser),
		errors.Is(err, directory.ErrInvalidAddress), errors.Is(err, directory.ErrDisabled):
		return "", errNotOwned
	case err != nil:
		return "", err
	}
	for _, t := range targets {
		if t.AccountID == ss.account.ID {
			return d.ID, nil
		}
	}
	return "", errNotOwned
}
