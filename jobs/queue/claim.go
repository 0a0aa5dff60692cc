package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/blob"
	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/predicate"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// maxScanPage is the most due rows Claim reads at a time while it picks
// units; a page is a few rows per unit asked for, since most units are
// one row and leased or capped rows are skipped.
const maxScanPage = 500

// unitKey identifies a delivery unit.
type unitKey struct {
	msg    pulid.ID
	domain string
}

// Claim leases up to limit due units to owner until now+lease and returns
// them. At most perDomain units of one domain are leased at a time, by
// all owners together; perDomain <= 0 means no limit. See the package
// documentation for why one transaction makes this safe.
func Claim(
	ctx context.Context,
	c *ent.Client,
	owner string,
	now time.Time,
	lease time.Duration,
	limit, perDomain int,
) ([]Unit, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = now.UTC()
	until := now.Add(lease)
	var units []Unit
	err := inTx(ctx, c, "claim", func(ctx context.Context, c *ent.Client) error {
		keys, err := pick(ctx, c, now, limit, perDomain)
		if err != nil || len(keys) == 0 {
			return err
		}
		units, err = load(ctx, c, keys, now)
		if err != nil {
			return err
		}
		var ids []pulid.ID
		for i := range units {
			units[i].Owner, units[i].LeaseUntil = owner, until
			ids = append(ids, units[i].ids()...)
		}
		err = c.OutboundRecipient.Update().
			Where(outboundrecipient.IDIn(ids...)).
			SetLeaseOwner(owner).
			SetLeaseUntil(until).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("queue: lease %d recipients: %w", len(ids), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return units, nil
}

// dueSets are the two kinds of due rows, each read along an index in id
// order, retries first: deferred rows whose next attempt has come
// (index status, next_attempt_at; few at a time), then new ones (index
// status, id, so that a long queue is not sorted at every claim).
func dueSets(now time.Time) [][]predicate.OutboundRecipient {
	free := outboundrecipient.Or(outboundrecipient.LeaseUntilIsNil(), outboundrecipient.LeaseUntilLT(now))
	nextDue := outboundrecipient.Or(outboundrecipient.NextAttemptAtIsNil(), outboundrecipient.NextAttemptAtLTE(now))
	return [][]predicate.OutboundRecipient{
		{outboundrecipient.StatusEQ(outboundrecipient.StatusDeferred), outboundrecipient.NextAttemptAtLTE(now), free},
		{outboundrecipient.StatusEQ(outboundrecipient.StatusQueued), nextDue, free},
	}
}

// due selects the rows that may be claimed at now: the union of dueSets.
func due(now time.Time) []predicate.OutboundRecipient {
	return []predicate.OutboundRecipient{
		pending,
		outboundrecipient.Or(outboundrecipient.NextAttemptAtIsNil(), outboundrecipient.NextAttemptAtLTE(now)),
		outboundrecipient.Or(outboundrecipient.LeaseUntilIsNil(), outboundrecipient.LeaseUntilLT(now)),
	}
}

// pick chooses the units to claim, due retries first and then new mail,
// each oldest first, skipping units of which a row is leased and domains
// that have perDomain units in flight.
func pick(ctx context.Context, c *ent.Client, now time.Time, limit, perDomain int) ([]unitKey, error) {
	inFlight, busy, err := inFlight(ctx, c, now)
	if err != nil {
		return nil, err
	}
	var keys []unitKey
	chosen := make(map[unitKey]bool)
	page := min(maxScanPage, 4*limit+len(busy)+16)
	for _, set := range dueSets(now) {
		var after pulid.ID
		for len(keys) < limit {
			q := c.OutboundRecipient.Query().Where(set...)
			if after != "" {
				q = q.Where(outboundrecipient.IDGT(after))
			}
			rows, err := q.Order(ent.Asc(outboundrecipient.FieldID)).Limit(page).
				Select(outboundrecipient.FieldID, outboundrecipient.FieldOutboundMessageID,
					outboundrecipient.FieldDomain).
				All(ctx)
			if err != nil {
				return nil, fmt.Errorf("queue: select due recipients: %w", err)
			}
			for _, r := range rows {
				k := unitKey{r.OutboundMessageID, r.Domain}
				if chosen[k] || busy[k] || (perDomain > 0 && inFlight[k.domain] >= perDomain) {
					continue
				}
				chosen[k] = true
				inFlight[k.domain]++
				if keys = append(keys, k); len(keys) == limit {
					break
				}
			}
			if len(rows) < page {
				break
			}
			after = rows[len(rows)-1].ID
		}
	}
	return keys, nil
}

// inFlight counts the leased units per domain and lists them.
func inFlight(ctx context.Context, c *ent.Client, now time.Time) (map[string]int, map[unitKey]bool, error) {
	rows, err := c.OutboundRecipient.Query().
		Where(pending, outboundrecipient.LeaseUntilGTE(now)).
		Select(outboundrecipient.FieldOutboundMessageID, outboundrecipient.FieldDomain).
		All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("queue: select leased recipients: %w", err)
	}
	counts := make(map[string]int)
	busy := make(map[unitKey]bool)
	for _, r := range rows {
		k := unitKey{r.OutboundMessageID, r.Domain}
		if !busy[k] {
			busy[k] = true
			counts[k.domain]++
		}
	}
	return counts, busy, nil
}

// load reads the due rows and the messages of the units keys, in the
// order of keys.
func load(ctx context.Context, c *ent.Client, keys []unitKey, now time.Time) ([]Unit, error) {
	msgIDs := make([]pulid.ID, 0, len(keys))
	for _, k := range keys {
		msgIDs = append(msgIDs, k.msg)
	}
	msgs, err := c.OutboundMessage.Query().Where(outboundmessage.IDIn(msgIDs...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: load messages: %w", err)
	}
	blobIDs := make([]pulid.ID, len(msgs))
	for i, m := range msgs {
		blobIDs[i] = m.BlobID
	}
	blobs, err := c.Blob.Query().Where(blob.IDIn(blobIDs...)).Select(blob.FieldID, blob.FieldKey).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: load blob keys: %w", err)
	}
	keyOf := make(map[pulid.ID]string, len(blobs))
	for _, b := range blobs {
		keyOf[b.ID] = b.Key
	}
	rows, err := c.OutboundRecipient.Query().
		Where(outboundrecipient.OutboundMessageIDIn(msgIDs...)).
		Where(due(now)...).
		Order(ent.Asc(outboundrecipient.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: load recipients: %w", err)
	}

	units := make([]Unit, len(keys))
	index := make(map[unitKey]*Unit, len(keys))
	for i, k := range keys {
		units[i] = Unit{MessageID: k.msg, Domain: k.domain}
		index[k] = &units[i]
	}
	byID := make(map[pulid.ID]*ent.OutboundMessage, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	for i := range units {
		if m := byID[units[i].MessageID]; m != nil {
			u := &units[i]
			u.OrgID, u.BlobID, u.BlobKey = m.OrganizationID, m.BlobID, keyOf[m.BlobID]
			u.MailFrom, u.QueuedAt = m.MailFrom, m.CreatedAt
			u.SenderDomain, u.Account = m.DomainID, m.AccountID
			u.TrackOpens, u.TrackClicks = m.TrackOpens, m.TrackClicks
			u.DKIMSignature, u.DKIMSelectors = m.DkimSignature, m.DkimSelectors
		}
	}
	for _, r := range rows {
		u := index[unitKey{r.OutboundMessageID, r.Domain}]
		if u == nil {
			continue // another domain of the same message
		}
		u.Recipients = append(u.Recipients, Recipient{ID: r.ID, Address: r.Address, Attempts: r.Attempts})
		u.Attempts = max(u.Attempts, r.Attempts)
	}
	return units, nil
}
