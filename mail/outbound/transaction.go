package outbound

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// transact runs MAIL, RCPT for every pending recipient and, when at least
// one was accepted, DATA.
func (c *Client) transact(j *job, s *session) {
	utf8OK, _ := s.sc.Extension("SMTPUTF8")
	if j.needUTF8 && !utf8OK {
		// RFC 6531 §3.2: the envelope cannot be downgraded, and a server
		// without SMTPUTF8 will not get it right.
		j.setPending(local(StatusBounced, "5.6.7",
			s.host+" does not support SMTPUTF8, which the addresses need"), s)
		return
	}
	// Go-smtp adds BODY=8BITMIME by itself when the server offers it. A
	// header section with raw UTF-8 (RFC 6532) asks for SMTPUTF8 too, if
	// it is there; without it the message is sent as it is rather than
	// rewritten, which would break its DKIM signature.
	opts := &smtp.MailOptions{Size: int64(len(j.msg)), UTF8: utf8OK && (j.needUTF8 || j.utf8Hdr)}
	if err := s.sc.Mail(j.from, opts); err != nil {
		j.setPending(c.replyOutcome(s, "MAIL FROM", err), s)
		return
	}

	var accepted []int
	for k, i := range j.pending {
		err := s.sc.Rcpt(j.res.Recipients[i].Address, nil)
		if err == nil {
			accepted = append(accepted, i)
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			// The connection is gone: the accepted recipients and those
			// not yet asked wait for another attempt.
			j.pending = append(accepted, j.pending[k:]...)
			j.setPending(c.replyOutcome(s, "RCPT TO", err), s)
			return
		}
		j.set(i, fromReply(se), s)
	}
	j.pending = accepted
	if len(accepted) == 0 {
		return
	}

	j.setPending(c.data(j, s), s)
}

// data sends DATA and the message and returns the outcome for the accepted
// recipients.
func (c *Client) data(j *job, s *session) outcome {
	w, err := s.sc.Data()
	if err != nil {
		return c.replyOutcome(s, "DATA", err)
	}
	// Go-smtp bounds every reply but not the writing of the message, which
	// a server that stops reading would block forever.
	if err := s.raw.SetDeadline(time.Now().Add(c.o.DataTimeout)); err != nil {
		s.broken = true
		return netFailure("message to "+s.host, err)
	}
	if _, err := w.Write(j.msg); err != nil {
		s.broken = true
		return netFailure("message to "+s.host, err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return c.replyOutcome(s, "end of DATA", err)
	}
	return delivered(resp.StatusText)
}

// replyOutcome classifies the error of a command: the server's reply, or a
// network failure.
func (c *Client) replyOutcome(s *session, cmd string, err error) outcome {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fromReply(se)
	}
	s.broken = true
	return netFailure(cmd+" to "+s.host, err)
}

// set gives recipient i the outcome o, reached on s (nil when no server was
// reached).
func (j *job) set(i int, o outcome, s *session) {
	r := &j.res.Recipients[i]
	r.Status, r.Code, r.EnhancedCode, r.Response = o.status, o.code, o.enhanced, o.text
	if s != nil {
		r.RemoteMX = s.host
		r.TLS, r.TLSVersion = s.tls.Used, s.tls.Version
	}
}

// setPending gives every pending recipient the outcome o.
func (j *job) setPending(o outcome, s *session) {
	for _, i := range j.pending {
		j.set(i, o, s)
	}
	j.pending = nil
}

// checkArgs refuses what cannot be put on the wire.
func checkArgs(domain, from string, rcpts []string) error {
	switch {
	case domain == "" || strings.ContainsAny(domain, " \t\r\n<>@"):
		return errInvalid("domain %q", domain)
	case from != "" && !validAddress(from):
		return errInvalid("sender %q", from)
	case len(rcpts) == 0:
		return errInvalid("no recipients")
	}
	return nil
}

// validAddress reports whether an address can be sent as a path: local@domain
// without spaces, controls or angle brackets. Whether the remote server
// likes it is for the server to say.
func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 320 {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// isASCII reports whether s has only 7-bit bytes.
func isASCII[T string | []byte](s T) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// headerSection returns the header of msg: everything up to the first empty
// line.
func headerSection(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i]
	}
	return msg
}
