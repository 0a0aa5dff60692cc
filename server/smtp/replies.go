package smtp

import (
	gosmtp "github.com/emersion/go-smtp"
)

// reply builds an SMTP error reply with an enhanced status code
// (RFC 3463).
func reply(code int, enh gosmtp.EnhancedCode, msg string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

// Replies Lightr gives. The names spell out the code and its meaning.
var (
	// RFC 5321 §3.6.2 and RFC 3463 X.7.1: delivery not authorized.
	r554RelayDenied = reply(554, gosmtp.EnhancedCode{5, 7, 1}, "Relaying denied")
	// RFC 3463 X.1.1: bad destination mailbox address.
	r550NoSuchUser = reply(550, gosmtp.EnhancedCode{5, 1, 1}, "No such user here")
	// RFC 3463 X.2.1: mailbox disabled, not accepting messages.
	r550Disabled = reply(550, gosmtp.EnhancedCode{5, 2, 1}, "Mailbox disabled")
	// RFC 3463 X.2.2: mailbox full; temporary, the owner may make room.
	r452OverQuota = reply(452, gosmtp.EnhancedCode{4, 2, 2}, "Mailbox full, try again later")
	// RFC 3463 X.2.2 permanent: the message alone is larger than the quota.
	r552OverQuota = reply(552, gosmtp.EnhancedCode{5, 2, 2}, "Message larger than the mailbox quota")
	// RFC 3463 X.1.7 and X.1.3: bad sender or recipient address syntax.
	r553BadSender    = reply(553, gosmtp.EnhancedCode{5, 1, 7}, "Bad sender address syntax")
	r553BadRecipient = reply(553, gosmtp.EnhancedCode{5, 1, 3}, "Bad recipient address syntax")
	// A line ended in a bare LF or a bare CR. Postfix answers the same
	// condition with 5.5.2 (smtpd_forbid_bare_newline); the message is
	// refused as a whole so that nothing smuggled behind it is accepted.
	r554BareNewline = reply(554, gosmtp.EnhancedCode{5, 5, 2},
		"Message refused: line ending is not CRLF (bare LF or CR)")
	// RFC 7489 §6.6.2: the sender domain's DMARC policy says reject.
	r550DMARC = reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"Message rejected by the sender domain's DMARC policy")
	// RFC 3463 X.7.0: too many rejected commands; the session ends.
	r421TooManyErrors = reply(421, gosmtp.EnhancedCode{4, 7, 0}, "Too many errors, closing connection")
	// RFC 3463 X.3.0: a local fault; the client keeps the message and retries.
	r451LocalError = reply(451, gosmtp.EnhancedCode{4, 3, 0}, "Local error, try again later")
	// Recipients before MAIL FROM, or DATA without recipients.
	r503BadSequence = reply(503, gosmtp.EnhancedCode{5, 5, 1}, "Bad sequence of commands")

	// Submission (RFC 6409, RFC 4954 §6): MAIL before AUTH.
	r530AuthRequired = reply(530, gosmtp.EnhancedCode{5, 7, 0}, "Authentication required")
	// AUTH on a connection without TLS, where TLS is required.
	r538EncryptionRequired = reply(538, gosmtp.EnhancedCode{5, 7, 11},
		"Encryption required for requested authentication mechanism")
	// Wrong user name or password, or an unknown API key.
	r535BadCredentials = reply(535, gosmtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid")
	// A valid API key without the send scope, or a server-wide admin key,
	// which belongs to no organization and so owns no sender address.
	r535CannotSend = reply(535, gosmtp.EnhancedCode{5, 7, 8},
		"Authentication credentials invalid: the key may not send mail")
	// The right password of a disabled account (RFC 3463 X.7.13).
	r525AccountDisabled = reply(525, gosmtp.EnhancedCode{5, 7, 13}, "Account disabled")
	// RFC 4954 §6: temporary authentication failure; here, too many
	// failures from this address or for this account.
	r454TooManyFailures = reply(454, gosmtp.EnhancedCode{4, 7, 0},
		"Too many failed authentications, try again later")
	// RFC 6409 §6.1: the submission server checks that the sender is the
	// authenticated user's to use (X.7.1: not authorized).
	r550SenderNotOwned = reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"Sender address not owned by the authenticated user")
	r550FromNotOwned = reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"From header address not owned by the authenticated user")
	// Only Lightr itself sends bounces, with the null reverse-path.
	r550NullSender = reply(550, gosmtp.EnhancedCode{5, 7, 1}, "Null sender not allowed for submission")
	// The sending domain signs its mail, and DKIM cannot sign this
	// message as it stands (RFC 6376 §5.4: From must be signed).
	r554Unsignable = reply(554, gosmtp.EnhancedCode{5, 6, 0},
		"Message cannot be DKIM-signed: it needs a From field and well-formed header lines")
)
