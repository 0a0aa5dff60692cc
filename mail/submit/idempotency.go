package submit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// requestHash returns the SHA-256 of a canonical encoding of r: JSON of
// a struct, whose fields have a fixed order, with the lists in the order
// given (the order of recipients and header fields is part of the
// message). The idempotency key itself is left out, and so are what the
// server chooses (Message-ID, Date).
func requestHash(r *Request) string {
	canon := struct {
		V                    int
		From                 string
		To, Cc, Bcc, ReplyTo []string
		Subject, Text, HTML  string
		Attachments          [][4]string
		Headers              [][2]string
		// Left out when unset, so that the hashes of requests without
		// them stay what they were.
		TrackOpens  *bool `json:",omitempty"`
		TrackClicks *bool `json:",omitempty"`
	}{
		V: 1, From: r.From, To: r.To, Cc: r.Cc, Bcc: r.Bcc, ReplyTo: r.ReplyTo,
		Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		TrackOpens: r.TrackOpens, TrackClicks: r.TrackClicks,
	}
	for _, a := range r.Attachments {
		sum := sha256.Sum256(a.Content)
		canon.Attachments = append(canon.Attachments,
			[4]string{a.Filename, a.ContentType, a.ContentID, hex.EncodeToString(sum[:])})
	}
	for _, h := range r.Headers {
		canon.Headers = append(canon.Headers, [2]string{h.Name, h.Value})
	}
	b, err := json.Marshal(canon)
	if err != nil {
		panic(err) // strings and lists of strings always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replay returns the message an earlier request with key queued, if its
// hash is hash; nil if there was none; an input error if the earlier
// request was another.
func replay(ctx context.Context, c *ent.Client, org pulid.ID, key, hash string) (*ent.OutboundMessage, error) {
	// Keys are per organization (the unique index), and org is the
	// viewer's (sender checked it); the send scope alone cannot read.
	m, err := c.OutboundMessage.Query().
		Where(outboundmessage.OrganizationID(org), outboundmessage.IdempotencyKey(key)).
		First(rule.SystemContext(ctx))
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("submit: idempotency key: %w", err)
	case m.RequestHash != hash:
		return nil, inputErr("idempotencyKey", "idempotency key reused with a different request")
	}
	return m, nil
}

// replayAfterConflict answers a request whose insert hit the unique index
// on the idempotency key: another request with the key committed between
// replay and the insert (possible only with a second process on the
// database, since this one has a single writer).
func replayAfterConflict(ctx context.Context, c *ent.Client, org pulid.ID, key, hash string,
	conflict error) (*ent.OutboundMessage, error) {
	m, err := replay(ctx, c, org, key, hash)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("submit: idempotency key conflict, but no message: %w", conflict)
	}
	return m, nil
}
