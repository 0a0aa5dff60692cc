// Package render turns what delivery cached about a message into the
// values that go-imap's FETCH writer takes, so that the IMAP server
// answers FETCH without parsing messages again.
//
// Delivery parses a message once (mail/message) and stores its ENVELOPE
// and BODYSTRUCTURE as JSON on the message row; the bytes stay in a blob.
// Envelope and BodyStructure map the decoded forms onto imap.Envelope and
// imap.BodyStructure. Section answers BODY[section]<partial> and Binary
// and BinarySize answer BINARY[part] and BINARY.SIZE[part] (RFC 9051
// §6.4.5, RFC 3516) from the raw bytes and the byte offsets recorded in
// the structure: a section is a slice of the blob, and only
// HEADER.FIELDS scans bytes, those of one header block.
//
// The obsolete RFC822, RFC822.HEADER and RFC822.TEXT items need nothing
// of their own: go-imap's parser turns them into body sections (BODY[],
// BODY.PEEK[HEADER], BODY[TEXT]) that Section answers.
//
// # Differences from go-imap's extractors
//
// go-imap's imapserver package has reference extractors that parse the
// message on each call (ExtractEnvelope, ExtractBodyStructure,
// ExtractBodySection, ExtractBinarySection); the tests compare this
// package with them. Deliberate differences, each following mail/message
// or the RFC where go-imap is lenient:
//
//   - A part without a Content-Type is text/plain; charset=us-ascii (RFC
//     2045 §5.2) and its encoding is "7bit", where go-imap reports empty
//     values.
//   - The line count of a text or message/rfc822 body includes a last
//     line without a line break (the line break before a boundary belongs
//     to the boundary, RFC 2046 §5.1.1); go-imap counts line breaks.
//   - ENVELOPE reports groups with RFC 9051 §7.5.2 markers; go-imap drops
//     them.
//   - A part number that names no part yields an empty section. go-imap
//     does the same, except that it lets 1 repeat on a leaf (BODY[1.1.1]
//     of a one-part message is its body); here 1.1 exists only below a
//     multipart or an attached message, as RFC 9051 §6.4.5 numbers parts.
//   - BINARY of a part whose Content-Transfer-Encoding is unknown fails
//     with ErrUnknownEncoding, which the server reports as UNKNOWN-CTE
//     (RFC 9051 §7.1); go-imap returns nothing.
//   - base64 and quoted-printable are decoded leniently: bytes outside the
//     base64 alphabet are skipped and a malformed quoted-printable escape
//     is kept as written (RFC 2045 §6.7, §6.8), so a damaged body still
//     yields its readable bytes instead of failing the FETCH. The decoding
//     is mail/message.AppendDecoded, the one parsing and SEARCH use too.
package render
