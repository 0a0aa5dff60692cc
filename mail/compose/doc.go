// Package compose builds the MIME messages that Lightr sends for API
// callers: the header fields (From, To, Cc, Reply-To with display names,
// Subject, Date, Message-ID, MIME-Version, the caller's own fields) and a
// body of text, HTML, inline images and attachments, in the structure
// mail clients expect (RFC 2045, RFC 2046, RFC 2387, RFC 5322):
//
//	text or HTML only        text/plain or text/html
//	text and HTML            multipart/alternative
//	inline parts (Content-ID) multipart/related around the HTML
//	attachments              multipart/mixed around all of it
//
// Text parts are quoted-printable, binary parts base64, and every line
// ends in CRLF. Bcc recipients never appear in the message: they exist
// only in the envelope, which is the caller's business.
package compose
