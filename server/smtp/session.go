package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// lookupTimeout bounds the database work of one RCPT TO.
const lookupTimeout = 30 * time.Second

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only, so it needs no locking.
type session struct {
	peer
	srv *Server

	// The transaction: reset by RSET, by a new MAIL and after DATA.
	mailSet  bool
	from     string
	size     int64 // declared with SIZE=, 0 when not given
	rcpts    []delivery.Recipient
	accounts map[pulid.ID]bool // one copy per account, whatever the addresses
}

// newSession is called by go-smtp after EHLO/HELO.
func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{peer: newPeer(c, s.ids.Next(), &s.opts, s.log), srv: s}, nil
}

// Reset implements gosmtp.Session (RSET, and after each message).
func (ss *session) Reset() {
	ss.mailSet, ss.from, ss.size = false, "", 0
	ss.rcpts, ss.accounts = nil, nil
}

// Mail implements gosmtp.Session (MAIL FROM).
func (ss *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if from != "" {
		if _, ok := checkPath(from); !ok {
			return ss.reject(r553BadSender, "bad sender", "from", truncate(from, 100))
		}
	}
	ss.Reset()
	ss.mailSet, ss.from = true, from
	if opts != nil {
		ss.size = opts.Size
	}
	return nil
}

// Rcpt implements gosmtp.Session (RCPT TO): only hosted addresses, and
// only while their mailbox has room.
func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if !ss.mailSet {
		return ss.reject(r503BadSequence, "rcpt before mail")
	}
	addr, ok := checkPath(to)
	if !ok {
		return ss.reject(r553BadRecipient, "bad recipient", "rcpt", truncate(to, 100))
	}
	to = addr
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()

	targets, err := directory.LookupRecipient(ctx, ss.srv.client, to)
	switch {
	case errors.Is(err, directory.ErrNotHosted):
		return ss.reject(r554RelayDenied, "relay denied", "rcpt", truncate(to, 100))
	case errors.Is(err, directory.ErrNoSuchUser), errors.Is(err, directory.ErrInvalidAddress):
		// A local part that no hosted address can have is just unknown.
		return ss.reject(r550NoSuchUser, "unknown recipient", "rcpt", truncate(to, 100))
	case errors.Is(err, directory.ErrDisabled):
		return ss.reject(r550Disabled, "disabled recipient", "rcpt", truncate(to, 100))
	case err != nil:
		ss.log.Error("recipient lookup failed", "err", err)
		return ss.localError()
	}

	for _, t := range targets {
		if err := ss.srv.deliverer.CheckQuota(ctx, t.AccountID, ss.size); err != nil {
			if !errors.Is(err, delivery.ErrOverQuota) {
				ss.log.Error("quota check failed", "err", err)
				return ss.localError()
			}
			if len(targets) == 1 {
				return ss.reject(ss.quotaReply(ctx, t.AccountID), "over quota", "rcpt",
					truncate(to, 100))
			}
			continue // an alias still reaches its other members
		}
		if ss.accounts == nil {
			ss.accounts = map[pulid.ID]bool{}
		}
		if !ss.accounts[t.AccountID] {
			ss.accounts[t.AccountID] = true
			ss.rcpts = append(ss.rcpts, delivery.Recipient{Target: t, Mailbox: "INBOX"})
		}
	}
	return nil
}

// quotaReply is 552 when the declared size alone exceeds the account's
// whole quota (retrying cannot help), else 452, which lets the owner make
// room (RFC 5321 §4.5.3.1.10 allows either).
func (ss *session) quotaReply(ctx context.Context, account pulid.ID) *gosmtp.SMTPError {
	if ss.exceedsWholeQuota(ctx, account) {
		return r552OverQuota
	}
	return r452OverQuota
}

// exceedsWholeQuota reports whether the declared size is larger than the
// account's quota even when the mailbox is empty.
func (ss *session) exceedsWholeQuota(ctx context.Context, account pulid.ID) bool {
	a, err := ss.srv.client.Account.Get(systemContext(ctx), account)
	return err == nil && a.QuotaBytes > 0 && ss.size > a.QuotaBytes
}

// peer is what every kind of session knows of its client, and the
// replies that count its errors.
type peer struct {
	conn      *gosmtp.Conn
	id        string
	remote    netip.Addr
	trusted   bool // the client is in Options.Trusted
	started   time.Time
	log       *slog.Logger
	errors    int
	maxErrors int
}

// newPeer starts the session of c under o's limits.
func newPeer(c *gosmtp.Conn, id string, o *Options, log *slog.Logger) peer {
	ip := netlimit.RemoteIP(c.Conn())
	p := peer{
		conn:      c,
		id:        id,
		remote:    ip,
		trusted:   o.Trusted.Contains(ip),
		started:   time.Now(),
		log:       log.With("conn_id", id, "remote_ip", ip.String()),
		maxErrors: o.MaxErrors,
	}
	p.log.Debug("session started", "helo", truncate(c.Hostname(), 64))
	return p
}

// Logout implements gosmtp.Session.
func (p *peer) Logout() error {
	p.log.Debug("session ended", "duration", time.Since(p.started).Round(time.Millisecond))
	return nil
}

// readData reads a DATA or BDAT section whole and refuses one that is too
// large (go-smtp's reply) or has a bare CR or LF in a line ending (554
// 5.5.2, against SMTP smuggling). A non-SMTP error is a broken connection,
// with nobody left to answer.
func (p *peer) readData(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(r)
	var smtpErr *gosmtp.SMTPError
	if errors.As(err, &smtpErr) {
		return nil, p.reject(smtpErr, "data refused", "size", len(raw))
	}
	if err != nil {
		return nil, err
	}
	if i := bareNewline(raw); i >= 0 {
		return nil, p.reject(r554BareNewline, "bare newline", "offset", i)
	}
	return raw, nil
}

// reject counts a refused command and returns its reply; past MaxErrors it
// ends the session with 421 instead.
func (p *peer) reject(r *gosmtp.SMTPError, what string, kv ...any) error {
	p.errors++
	p.log.Warn("rejected: "+what, append(kv, "smtp_code", r.Code,
		"enh_code", enhanced(r.EnhancedCode))...)
	if p.errors >= p.maxErrors {
		p.hangUp()
		return r421TooManyErrors
	}
	return r
}

// localError answers a server-side fault with 451, so the client keeps
// the message and retries; the connection id lets an operator find the
// log line.
func (p *peer) localError() error {
	return reply(r451LocalError.Code, r451LocalError.EnhancedCode,
		r451LocalError.Message+" (id "+p.id+")")
}

// hangUp makes the session's next read fail, so that go-smtp closes the
// connection right after sending the current reply.
func (p *peer) hangUp() {
	_ = p.conn.Conn().SetReadDeadline(time.Now())
}

func enhanced(c gosmtp.EnhancedCode) string {
	return fmt.Sprintf("%d.%d.%d", c[0], c[1], c[2])
}

// truncate bounds client input before it reaches a log line.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
