// Package track implements open and click tracking of outbound mail.
//
// Before a delivery unit is signed and sent (jobs/sender), Rewrite walks
// the message's MIME tree and, in each text/html part, points the http and
// https links of <a> elements at the click endpoint and adds a 1x1 image
// (the open pixel) before </body>. Every other byte of the message stays
// as it was; the part is re-encoded with its own transfer encoding. The
// copy stored in the database (and in the Sent mailbox) is never touched:
// only the bytes on the wire carry tracking.
//
// Each link carries a Token: the kind (open or click), the outbound
// message, the recipient when the delivery names one, and for a click the
// original URL, signed with HMAC-SHA256 under a per-server key. The
// endpoints need no table of links: a token that verifies names exactly
// the URL that was in the message, so the click endpoint cannot be used
// as an open redirector, and a token altered in any byte is refused.
//
// Recorder turns a hit on an endpoint into a message.opened or
// message.clicked event in the organization's event log, which
// subscriptions and webhooks read.
package track
