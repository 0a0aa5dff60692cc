// Package netlimit bounds the connections a mail listener accepts: in
// total, and from one client address, so that one client cannot take every
// slot. A connection over a limit is answered by the protocol's own
// refusal (SMTP's 421, IMAP's BYE) and closed at once, so that the client
// retries later instead of waiting for a server that will not answer.
//
// It can also cap how long a connection may wait for the client's next
// bytes (MaxIdle), whatever deadline the protocol library sets, which is
// how a library's fixed idle timeout becomes a configurable one.
package netlimit
