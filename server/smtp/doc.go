// Package smtp is Lightr's inbound SMTP server, the MX of every hosted
// domain. It speaks ESMTP through github.com/emersion/go-smtp and decides,
// for every command, what an MX must decide:
//
//   - whom it accepts: only existing addresses of hosted domains (accounts,
//     aliases, +tag subaddresses). Everything else is refused at RCPT, and
//     a domain Lightr does not host is refused as relaying (554 5.7.1);
//     Lightr is never an open relay;
//   - what it accepts: messages within the size limit whose every line ends
//     in CRLF. A bare LF or bare CR is refused, which closes SMTP smuggling
//     (CVE-2023-51764 and its relatives);
//   - what it records: SPF, DKIM and DMARC verdicts from package
//     mail/verify, prepended as Authentication-Results (RFC 8601) together
//     with Return-Path and Received;
//   - when it says 250: only after package mail/delivery has committed the
//     message to the database. Throughput comes from group commit there,
//     not from answering early.
//
// The same package serves message submission (RFC 6409, Submission):
// authenticated clients only, over TLS, sending only from addresses their
// account or organization owns, and answered 250 once package mail/outbox
// has queued the message for the outbound workers. It shares the MX's
// trace header, bare-newline guard, size limit and connection limits.
//
// Limits (connections in total and per client address, recipients,
// message size, line length, timeouts, errors per session) come from
// Options; the defaults are in server/config. No client is trusted for its
// address alone: loopback gets the same policy as any other client unless
// it is listed in Options.Trusted.
package smtp
