// Package verify authenticates the sender of an inbound message: SPF for the
// envelope (RFC 7208), DKIM signatures (RFC 6376, RFC 8463) and the DMARC
// policy of the author's domain (RFC 7489), and writes the outcome as an
// Authentication-Results header field (RFC 8601) for the SMTP server to
// prepend.
//
// The checks themselves are those of blitiri.com.ar/go/spf and
// github.com/emersion/go-msgauth; this package feeds them Lightr's resolver,
// bounds them in time, and combines their results. Verification never fails:
// DNS trouble is reported as temperror, and deciding what to do with a
// message (accept, quarantine, reject) is left to the caller, helped by
// Result.RejectByDMARC and Result.QuarantineByDMARC.
//
// Choices where the RFCs leave room:
//
//   - SPF checks the MAIL FROM identity, or the HELO identity for the null
//     sender (RFC 7208 §2.4); it does not check HELO separately.
//   - DKIM verifies at most MaxSignatures signatures. The DKIM result is
//     pass if any signature passes; otherwise temperror if any could not be
//     checked for a temporary reason (the retry may pass), fail if any did
//     not verify, permerror if all were unusable, and none if there is no
//     signature. The header carries one dkim entry per signature.
//   - DMARC looks the policy up at the author domain, then at its
//     organizational domain (RFC 7489 §6.6.3), found with the public suffix
//     list of golang.org/x/net/publicsuffix. When neither SPF nor DKIM
//     aligns but an aligned identifier failed temporarily, DMARC is
//     temperror rather than fail, so that a DNS hiccup never rejects mail.
//   - A message without a From field gets dmarc=none: there is no author
//     domain to evaluate (RFC 7489 §11.2). A From field that cannot be
//     parsed, or that holds no address, gets dmarc=permerror. When the
//     From fields name several author domains, each is evaluated and the
//     worst outcome is reported (fail, then temperror, permerror, none,
//     pass; among failures the strictest policy), so that a second author
//     cannot hide a failing first one (RFC 7489 §6.6.1).
//   - The pct tag is honored without sampling: a failing message under
//     p=reject with pct below 100 is treated as p=quarantine.
package verify
