package render

import (
	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/message"
)

// Envelope returns the ENVELOPE (RFC 9051 §7.5.2) of a decoded cached
// envelope. A nil e yields an envelope of NILs.
//
// Empty address lists are nil: go-imap's writer then reports From in
// place of a missing Sender or Reply-To, as the RFC asks, and writes NIL
// for the other lists.
func Envelope(e *message.Envelope) *imap.Envelope {
	if e == nil {
		return &imap.Envelope{}
	}
	return &imap.Envelope{
		Date:      e.Date,
		Subject:   e.Subject,
		From:      addresses(e.From),
		Sender:    addresses(e.Sender),
		ReplyTo:   addresses(e.ReplyTo),
		To:        addresses(e.To),
		Cc:        addresses(e.Cc),
		Bcc:       addresses(e.Bcc),
		InReplyTo: e.InReplyTo,
		MessageID: e.MessageID,
	}
}

// addresses converts an address list; group markers carry over as they
// are, since both types use the RFC 9051 markers.
func addresses(list []message.EnvelopeAddress) []imap.Address {
	if len(list) == 0 {
		return nil
	}
	out := make([]imap.Address, len(list))
	for i, a := range list {
		out[i] = imap.Address{Name: a.Name, Mailbox: a.Mailbox, Host: a.Host}
	}
	return out
}
