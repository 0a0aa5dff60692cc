package imap

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/netlimit"
)

// opTimeout bounds the database work of one command.
const opTimeout = time.Minute

// loginDelay is how long a failed login waits before its answer, which
// slows a password guesser down without costing the server anything but
// a sleeping goroutine.
const loginDelay = time.Second

// session is one IMAP connection. go-imap calls its methods from the
// connection's goroutine, except Idle, which runs on a second goroutine
// while the first waits for DONE; the two never run a command at once.
// But when the connection breaks during IDLE, go-imap closes the session
// without waiting for Idle to return, hence idling.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	front  *clientConn // conn's connection: TLS, ID
	id     string
	remote netip.Addr
	log    *slog.Logger

	// Set by Login.
	account *ent.Account
	viewer  *viewer.Viewer

	// The selected mailbox, or nil.
	sel *selected

	// idling is held by Idle while it runs, and by Close, so that Close
	// does not take the selected mailbox away under a running Idle.
	idling sync.Mutex
}

// newSession is called by go-imap for each connection, before the
// greeting.
func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	ip := netlimit.RemoteIP(c.NetConn())
	id := s.ids.Next()
	front, _ := c.NetConn().(*clientConn)
	ss := &session{
		srv:    s,
		conn:   c,
		front:  front,
		id:     id,
		remote: ip,
		log:    s.log.With("conn_id", id, "remote_ip", ip.String()),
	}
	ss.log.Debug("session started")
	return ss, nil, nil
}

// ctx returns a context for one command, carrying the account viewer, so
// that the privacy rules confine everything to the logged-in account.
func (ss *session) ctx() (context.Context, context.CancelFunc) {
	ctx := context.Background()
	if ss.viewer != nil {
		ctx = viewer.NewContext(ctx, ss.viewer)
	}
	return context.WithTimeout(ctx, opTimeout)
}

// Close implements imapserver.Session.
func (ss *session) Close() error {
	// go-imap has closed Idle's stop channel already, so this waits at
	// most for the sync Idle is in.
	ss.idling.Lock()
	defer ss.idling.Unlock()
	if ss.sel != nil {
		ss.sel.close()
		ss.sel = nil
	}
	if ss.account != nil {
		ss.srv.release(ss.account.ID)
		ss.log.Info("logged out", "user_id", ss.account.ID)
	}
	return nil
}

// Login implements imapserver.Session (LOGIN and AUTHENTICATE PLAIN). The
// address is the account's; failures are counted per client address and
// per account, and past the limit the login is refused without checking
// the password.
func (ss *session) Login(username, password string) error {
	if !ss.srv.opts.AllowInsecureAuth && (ss.front == nil || !ss.front.secure.Load()) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired,
			Text: "TLS is required to log in"}
	}
	ipKey, userKey := "ip:"+ss.remote.String(), "user:"+normalizeUser(username)
	if !ss.srv.opts.Trusted.Contains(ss.remote) && ss.srv.failures.Blocked(ipKey) ||
		ss.srv.failures.Blocked(userKey) {
		ss.log.Warn("login refused: too many failures", "user", truncate(username, 100))
		time.Sleep(loginDelay)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed logins, try again later"}
	}

	ctx, cancel := ss.ctx()
	defer cancel()
	acc, v, err := ss.srv.passwords.Check(ctx, username, password)
	switch {
	case errors.Is(err, access.ErrBadCredentials):
		ss.srv.failures.Fail(ipKey)
		ss.srv.failures.Fail(userKey)
		ss.log.Warn("login failed", "user", truncate(username, 100))
		time.Sleep(loginDelay)
		return imapserver.ErrAuthFailed
	case errors.Is(err, access.ErrAccountDisabled):
		ss.log.Warn("login refused: account disabled", "user", truncate(username, 100))
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeContactAdmin,
			Text: "Account disabled"}
	case err != nil:
		ss.log.Error("login check failed", "err", err)
		return ss.serverBug()
	}
	if !ss.srv.claim(acc.ID) {
		ss.log.Warn("login refused: too many sessions", "user_id", acc.ID)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit,
			Text: "Too many connections for this account"}
	}
	ss.srv.failures.Reset(userKey)
	ss.account, ss.viewer = acc, v
	ss.log = ss.log.With("user_id", acc.ID)
	if ss.front != nil {
		// Before go-imap writes its OK with the capabilities of a
		// logged-in session.
		ss.front.authenticated.Store(true)
		if client := ss.front.client.Load(); client != nil {
			ss.log.Info("logged in", "client", *client)
			return nil
		}
	}
	ss.log.Info("logged in")
	return nil
}

// serverBug answers an unexpected failure; the connection id in the text
// lets an operator find the log line.
func (ss *session) serverBug() error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal error (id " + ss.id + ")"}
}

// Namespace implements imapserver.SessionNamespace: one personal
// namespace, "" with "/" (RFC 2342).
func (ss *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// AppendLimit implements imapserver.SessionAppendLimit.
func (ss *session) AppendLimit() uint32 {
	return uint32(min(ss.srv.opts.MaxMessageBytes, 1<<32-1))
}

func normalizeUser(u string) string {
	b := []byte(u)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// truncate bounds client input before it reaches a log line.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
