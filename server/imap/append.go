package imap

import (
	"bytes"
	"io"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/mailbox"
	"github.com/lightr-mail/lightr/mail/message"
)

// Append implements imapserver.Session (APPEND with flags and date, RFC
// 9051 §6.3.12; UIDPLUS's APPENDUID in the answer). go-imap has already
// refused a literal over the APPENDLIMIT.
func (ss *session) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.destination(ctx, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(r.Size(), ss.srv.opts.MaxMessageBytes)))
	if _, err := io.Copy(&buf, io.LimitReader(r, ss.srv.opts.MaxMessageBytes+1)); err != nil {
		return nil, err // the connection broke
	}
	raw := buf.Bytes()
	if int64(len(raw)) > ss.srv.opts.MaxMessageBytes {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
			Text: "Message too large"}
	}
	if len(raw) == 0 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Empty message"}
	}
	in := mailbox.AppendInput{Mailbox: mb.ID, Raw: raw, Parsed: message.Parse(raw, ss.srv.opts.Parse)}
	if options != nil {
		in.Flags, in.InternalDate = flagSetOf(options.Flags), options.Time
	}
	m, err := mailbox.Append(ctx, ss.srv.db.Client, ss.srv.store, ss.srv.hub, in)
	if err != nil {
		return nil, ss.mailboxError(err)
	}
	ss.log.Info("message appended", "mailbox", mb.Name, "msg_id", m.ID, "size", len(raw))
	return &imap.AppendData{UID: imap.UID(m.UID), UIDValidity: mb.UIDValidity}, nil
}
