// Package outbound delivers a message to the recipients of one remote
// domain over SMTP: it finds the domain's mail exchangers through Lightr's
// resolver (or uses a configured smarthost), opens one connection, sends
// MAIL FROM once, RCPT TO for every recipient and DATA once, and reports an
// outcome per recipient. It keeps no state: retrying what was deferred is
// the queue's job (jobs/), and signing is done before (mail/dkim).
//
// # Routing
//
// The MX records are tried in preference order, in random order among equal
// preferences (RFC 5321 §5.1). A domain without MX records is its own mail
// exchanger (the "implicit MX" of its A and AAAA records); a null MX
// (RFC 7505) means the domain accepts no mail. At most ten addresses are
// tried in all.
//
// # Falling over to the next host
//
// The next address (of the same host, then of the next host) is tried only
// when the current one could not be used at all: the connection failed or
// timed out, the TLS policy could not be met, or the greeting or EHLO was
// answered with a 4xx. Once a server has accepted the session, its replies
// are final for this attempt: a 4xx defers and a 5xx bounces, and no other
// host is asked. A 5xx greeting is taken as the domain's refusal too, so a
// misconfigured backup MX cannot turn a rejection into a retry loop.
//
// # Outcomes
//
//	stage                                 status     enhanced code
//	DNS: NXDOMAIN, invalid name           bounced    5.1.2
//	DNS: null MX                          bounced    5.1.10
//	DNS: no host has an address           bounced    5.4.4
//	DNS: SERVFAIL, timeout                deferred   4.4.3
//	connect refused or unreachable        deferred   4.4.1
//	timeout, connection lost              deferred   4.4.2
//	TLS required but unavailable/failed   deferred   4.7.5
//	greeting/EHLO 4xx (every host)        deferred   from the reply
//	greeting/EHLO 5xx                     bounced    from the reply
//	smarthost AUTH refused                deferred   from the reply
//	MAIL 4xx / 5xx                        deferred / bounced, every recipient
//	RCPT 4xx / 5xx                        deferred / bounced, that recipient
//	DATA or final-dot 4xx / 5xx           deferred / bounced, accepted recipients
//	250 after the final dot               delivered  from the reply
//	SMTPUTF8 needed, not offered          bounced    5.6.7
//	recipient address malformed           failed     5.1.3
//
// A connection lost after the final dot but before the reply is a deferral:
// the message may then arrive twice, which RFC 5321 §6.1 prefers to losing
// it.
//
// # TLS
//
// By default STARTTLS is used whenever it is offered, and the certificate is
// checked against the MX host name and recorded but not enforced
// (opportunistic security, RFC 7435): an MX name comes from unsigned DNS, so
// refusing a self-signed certificate would only push the mail to cleartext.
// When the TLS handshake fails the same address is tried once more without
// STARTTLS. TLSRequire and TLSRequireVerified refuse cleartext, and the
// latter also an unverified certificate. A smarthost is always verified,
// since it is sent a password.
package outbound
