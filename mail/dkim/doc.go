// Package dkim holds Lightr's DKIM keys: generating them, writing the DNS
// record that publishes them (RFC 6376 §3.6.1, RFC 8463 for Ed25519) and
// signing outbound messages with them (Sign). The cryptography and the
// canonicalization are github.com/emersion/go-msgauth's; verification of
// inbound mail lives in mail/verify.
package dkim
