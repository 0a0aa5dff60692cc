// Package dsn builds delivery status notifications: the bounces and delay
// warnings that outbound delivery sends back to a message's envelope
// sender (RFC 3464), packaged as a multipart/report (RFC 6522).
//
// # What a notification holds
//
// Builder.Build writes one RFC 5322 message of three parts: a text/plain
// explanation for a person, a message/delivery-status part for software
// (one group of fields for the message, one per recipient), and the
// original message's header block (text/rfc822-headers), or on request
// (RET=FULL, RFC 3461 §4.3) the whole original as message/rfc822 when it
// is small and 7-bit clean enough to travel unchanged.
//
// The output uses CRLF line endings and no line longer than 998 octets
// (RFC 5322 §2.1.1), and it is 7-bit: the human part is quoted-printable
// UTF-8, and a non-ASCII recipient in the report is written with the
// utf-8 address type in its 7-bit xtext form (RFC 6533 §3). The one
// exception is the To field when the envelope sender itself is a UTF-8
// address: it is written as UTF-8 (RFC 6532), since delivering to that
// address needs SMTPUTF8 anyway.
//
// Anything that came from a remote server or from the original message
// (the SMTP reply, host names, the envelope id) is reduced to one line of
// printable ASCII and bounded in length before it is written, so a
// hostile reply cannot add header fields or report fields of its own.
//
// # Sending it
//
// A notification is sent with the null reverse-path, MAIL FROM:<> (RFC
// 3464 §5, RFC 5321 §4.5.5), so that it can never itself cause another
// notification; NullSender names that. ShouldBounce decides whether a
// failed message may have a notification at all: never for a null sender
// and never for a message that is itself a report or an automatic reply.
//
// Builds are deterministic given Builder.Now and Builder.MessageID, which
// tests set; the multipart boundary is derived from the content.
package dsn
