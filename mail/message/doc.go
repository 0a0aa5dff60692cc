// Package message parses raw RFC 5322 messages once, at delivery, into
// what Lightr caches in the database, and decodes bodies and attachments
// on demand.
//
// # Parse once, at delivery
//
// A message's bytes never change after delivery, but they are read many
// times: the API lists mailboxes (subject, sender, preview, a paperclip),
// and IMAP clients FETCH ENVELOPE and BODYSTRUCTURE for every message
// they show, often on each connection. Parsing MIME on each of those
// reads would cost time proportional to the size of every listed message,
// attachments included. Parse therefore runs once, when the SMTP server
// (or IMAP APPEND) stores a message, and its result is stored with the
// message row: the listing fields as columns, the attachment list, the
// ENVELOPE and the BODYSTRUCTURE as JSON. Listing and FETCH ENVELOPE /
// BODYSTRUCTURE then read only that row.
//
// # Offsets instead of copies
//
// FETCH BODY[section] (and .HEADER, .MIME, .TEXT, and <partial> ranges,
// RFC 9051 §6.4.5) asks for bytes of one part as transmitted. Each Part
// records three offsets into the raw message: where its header starts,
// where its body starts and where it ends. Serving a section is then
// Find(section) and a slice of the stored blob; no MIME parsing and no
// copy of the parts. The raw message stays the one source of truth
// (content-addressed in mail/store), so the cache holds no second copy of
// any content, and a cached structure can always be rebuilt by parsing
// the blob again (for instance after this package learns something new).
//
// # Robustness
//
// The SMTP server stores every message as received, so Parse cannot
// fail: it never returns an error, recovers from its own bugs, and turns
// broken MIME into a best-effort structure that still satisfies IMAP's
// grammar (see Part). Its work is linear in the size of the message,
// times at most Limits.MaxDepth for nested multiparts: each multipart
// body is scanned once for its boundary, each header once, and bodies
// are decoded only for the preview (a bounded prefix) and to count the
// decoded size of attachments. Limits bound the depth, the number of
// parts and the bytes of each header block that are kept; a message past
// them is flagged Truncated and its excess reported as opaque parts.
//
// The structure is found by scanning the byte slice, because go-message's
// readers stream through bufio and cannot report offsets, and stop at the
// first malformed line. The scanner follows the same rules as go-message's
// textproto (header lines, RFC 2046 delimiter lines), and the tests check
// every offset against what go-message's reader returns for each part.
// go-message does the rest: charsets (its charset package), address
// parsing (mail.ParseAddress), and RFC 2047 words through its charset
// tables.
//
// Attachment indexes, as OpenAttachment takes them, follow Parse with
// default Limits; a caller that parses with other Limits may see other
// indexes for messages that reach the limits.
package message
