package smtp

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/access"
	"github.com/lightr-mail/lightr/server/auth"
)

// AuthMechanisms implements gosmtp.AuthSession. AUTH is advertised only
// once the connection is encrypted: PLAIN and LOGIN carry the password in
// clear (RFC 4954 §4, RFC 8314 §3).
func (ss *subSession) AuthMechanisms() []string {
	if !ss.canAuth() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// canAuth reports whether the connection may carry credentials.
func (ss *subSession) canAuth() bool {
	_, isTLS := ss.conn.TLSConnectionState()
	return isTLS || ss.srv.opts.AllowInsecureAuth
}

// Auth implements gosmtp.AuthSession (AUTH PLAIN and AUTH LOGIN).
//
// The user name of a password login is the account's address. An API key
// (lr_…) is accepted as the password with any user name ("apikey", the
// key's name), since the key alone identifies its organization.
func (ss *subSession) Auth(mech string) (sasl.Server, error) {
	if !ss.canAuth() {
		// RFC 4954 §6: 538 when the mechanism needs an encrypted
		// connection and this one is not.
		return nil, ss.reject(r538EncryptionRequired, "auth before starttls")
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				// Acting as another user (RFC 4616 §2) is not offered.
				ipKey, userKey := ss.failureKeys(username, false)
				return ss.authFailed(ipKey, userKey, username, "authorization identity differs")
			}
			return ss.login(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: ss.login}, nil
	}
	return nil, ss.reject(gosmtp.ErrAuthUnknownMechanism, "unknown auth mechanism",
		"mech", truncate(mech, 20))
}

// login checks a user name and password (an account's, or an API key),
// counting failures per client address and per account.
func (ss *subSession) login(username, password string) error {
	isKey := auth.LooksLikeAPIKey(password)
	ipKey, userKey := ss.failureKeys(username, isKey)
	if ss.throttled(ipKey) || ss.throttled(userKey) {
		ss.log.Warn("auth refused: too many failures", "user", truncate(username, 100))
		ss.pause()
		return ss.reject(r454TooManyFailures, "auth throttled")
	}

	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	var (
		v   *viewer.Viewer
		acc *ent.Account
		err error
	)
	if isKey {
		v, err = ss.srv.be.Keys.Authenticate(ctx, password)
	} else {
		acc, v, err = ss.srv.be.Passwords.Check(ctx, username, password)
	}
	switch {
	case errors.Is(err, access.ErrBadCredentials), errors.Is(err, access.ErrUnauthenticated):
		return ss.authFailed(ipKey, userKey, username, err.Error())
	case errors.Is(err, access.ErrAccountDisabled):
		return ss.reject(r525AccountDisabled, "auth of a disabled account", "user", truncate(username, 100))
	case err != nil:
		ss.log.Error("auth check failed", "err", err)
		return reply(454, gosmtp.EnhancedCode{4, 7, 0},
			"Temporary authentication failure (id "+ss.id+")")
	}
	if v.Kind == viewer.KindAdmin || !v.Has(viewer.ScopeSend) {
		// The admin belongs to no organization, so it owns no address.
		return ss.reject(r535CannotSend, "key may not send", "key_id", v.Subject)
	}

	if userKey != "" {
		ss.srv.failures.Reset(userKey)
	}
	ss.viewer, ss.account = v, acc
	ss.log = ss.log.With("tenant_id", v.OrgID)
	if acc != nil {
		ss.log = ss.log.With("user_id", acc.ID)
	} else {
		ss.log = ss.log.With("key_id", v.Subject)
	}
	ss.log.Info("authenticated", "kind", v.Kind.String())
	return nil
}

// failureKeys returns the throttle keys of a login: the client address
// (none for a trusted client) and the user name. Key logins are not
// counted per user name: every application may call itself "apikey", and
// one guesser must not lock them all out.
func (ss *subSession) failureKeys(username string, isKey bool) (ipKey, userKey string) {
	if !ss.trusted {
		ipKey = "ip:" + ss.remote.String()
	}
	if !isKey {
		userKey = "user:" + strings.ToLower(username)
	}
	return ipKey, userKey
}

// authFailed counts a failed AUTH against its keys and answers it after a
// pause, which slows a guesser down at the cost of a sleeping goroutine.
// The reason goes to the log only: the client learns nothing of which
// addresses exist.
func (ss *subSession) authFailed(ipKey, userKey, username, reason string) error {
	for _, k := range []string{ipKey, userKey} {
		if k != "" {
			ss.srv.failures.Fail(k)
		}
	}
	ss.pause()
	return ss.reject(r535BadCredentials, "auth failed", "user", truncate(username, 100), "reason", reason)
}

func (ss *subSession) throttled(key string) bool {
	return key != "" && ss.srv.failures.Blocked(key)
}

func (ss *subSession) pause() {
	if d := ss.srv.opts.AuthFailureDelay; d > 0 {
		time.Sleep(d)
	}
}

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), which go-sasl no longer provides but
// Outlook and many devices still use: the user name, then the password,
// each asked for with a challenge.
type loginServer struct {
	check    func(username, password string) error
	username string
	step     int
}

// Next implements sasl.Server.
func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) == 0 {
			return []byte("Username:"), false, nil
		}
		// The user name came as the initial response (AUTH LOGIN <b64>).
		l.step++
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
