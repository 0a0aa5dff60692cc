package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/webhook"
	"github.com/lightr-mail/lightr/ent/webhookdelivery"
)

// userAgent identifies Lightr to receivers.
const userAgent = "Lightr-Webhooks/1"

// maxErrorLen bounds the error text kept in the delivery log.
const maxErrorLen = 300

// errLeaseLost means another worker took the delivery over meanwhile.
var errLeaseLost = errors.New("webhooks: lease lost")

// result is the outcome of one attempt.
type result struct {
	code    int
	latency time.Duration
	err     string // empty on success
}

// deliver makes one attempt of j and records it. The attempt is not cut
// short when Run's context ends: the HTTP timeout bounds it, and
// recording it spares the receiver a duplicate.
func (d *Dispatcher) deliver(ctx context.Context, j job) {
	ctx = context.WithoutCancel(ctx)
	res := d.post(ctx, j, d.opts.Now())
	a := &attempt{j: j, res: res}
	recorded := make(chan struct{})
	d.rec.Submit(a, func(*attempt) { close(recorded) })
	<-recorded
	disabled, err := a.disabled, a.err

	log := d.log.With("webhook_id", j.w.ID, "delivery_id", j.d.ID, "tenant_id", j.w.OrganizationID,
		"event_type", j.d.EventType, "attempt", j.d.Attempts+1, "http_code", res.code,
		"duration", res.latency)
	switch {
	case errors.Is(err, errLeaseLost):
		log.Warn("webhook delivery lease lost")
	case err != nil:
		log.Error("record webhook attempt", "err", err)
	case res.err == "":
		log.Debug("webhook delivered")
	default:
		log.Info("webhook attempt failed", "err", res.err)
	}
	if disabled {
		log.Warn("webhook disabled after consecutive failures")
		d.opts.Notify.PublishEvents(j.w.OrganizationID)
	}
}

// post sends j's envelope once, signed now.
func (d *Dispatcher) post(ctx context.Context, j job, now time.Time) result {
	ts := now.Unix()
	secrets := []string{j.w.Secret}
	if exp := j.w.PreviousSecretExpiresAt; j.w.PreviousSecret != "" && exp != nil && now.Before(*exp) {
		secrets = append(secrets, j.w.PreviousSecret)
	}
	id := string(j.d.ID)
	sig, err := SignatureHeader(id, ts, j.d.Body, secrets...)
	if err != nil {
		return result{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.w.URL, bytes.NewReader(j.d.Body))
	if err != nil {
		return result{err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)

	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		return result{latency: time.Since(start), err: err.Error()}
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	res := result{code: resp.StatusCode, latency: time.Since(start)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.err = "HTTP " + strconv.Itoa(resp.StatusCode)
		if s := printable(excerpt); s != "" {
			res.err += ": " + s
		}
	}
	return res
}

// attempt is one delivery attempt waiting to be recorded: the job and
// its result in, whether it disabled the endpoint and the error out.
type attempt struct {
	j        job
	res      result
	disabled bool
	err      error
}

// recordAll writes the outcomes of attempts in one transaction, and
// disables endpoints that have failed for too long. An attempt whose
// lease was lost gets errLeaseLost and changes nothing; any other error
// rolls the batch back and is returned.
func (d *Dispatcher) recordAll(ctx context.Context, attempts []*attempt, now time.Time) error {
	now = now.UTC()
	for _, a := range attempts {
		a.disabled, a.err = false, nil
	}
	err := inTx(ctx, d.db, "record", func(ctx context.Context, c *ent.Client) error {
		for _, a := range attempts {
			disabled, err := d.recordOne(ctx, c, a.j, a.res, now)
			if errors.Is(err, errLeaseLost) {
				a.err = err
				continue
			}
			if err != nil {
				return err
			}
			a.disabled = disabled
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range attempts {
		if a.err == nil {
			d.count(a.res, a.disabled)
		}
	}
	return nil
}

// recordOne writes one attempt's outcome inside the transaction of c.
func (d *Dispatcher) recordOne(ctx context.Context, c *ent.Client, j job, res result, now time.Time) (bool, error) {
	cur, err := c.WebhookDelivery.Get(ctx, j.d.ID)
	if ent.IsNotFound(err) {
		return false, errLeaseLost // the endpoint was deleted meanwhile
	}
	if err != nil {
		return false, err
	}
	if cur.LeaseOwner != d.owner || cur.LeaseUntil == nil || !cur.LeaseUntil.Equal(j.until) {
		return false, errLeaseLost
	}
	attempts := cur.Attempts + 1
	u := c.WebhookDelivery.UpdateOne(cur).
		SetAttempts(attempts).
		SetLastAttemptAt(now).
		SetResponseCode(res.code).
		SetLatencyMs(int(res.latency.Milliseconds())).
		SetLastError(truncate(res.err, maxErrorLen)).
		SetLeaseOwner("").
		ClearLeaseUntil()
	switch {
	case res.err == "":
		u.SetStatus(webhookdelivery.StatusDelivered).SetDeliveredAt(now).ClearNextAttemptAt()
	case attempts >= d.opts.MaxAttempts || now.Sub(cur.CreatedAt) >= d.opts.MaxAge:
		u.SetStatus(webhookdelivery.StatusFailed).ClearNextAttemptAt()
	default:
		u.SetNextAttemptAt(now.Add(d.opts.Schedule.Next(attempts, rand.Float64())))
	}
	if err := u.Exec(ctx); err != nil {
		return false, fmt.Errorf("update delivery %s: %w", cur.ID, err)
	}
	if res.err == "" {
		return false, d.succeeded(ctx, c, j)
	}
	return d.failed(ctx, c, j, res, now)
}

// succeeded clears the endpoint's failure count, if it has one.
func (d *Dispatcher) succeeded(ctx context.Context, c *ent.Client, j job) error {
	err := c.Webhook.Update().
		Where(webhook.ID(j.w.ID), webhook.Or(webhook.ConsecutiveFailuresGT(0), webhook.FailingSinceNotNil())).
		SetConsecutiveFailures(0).
		ClearFailingSince().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("reset failures of %s: %w", j.w.ID, err)
	}
	return nil
}

// failed counts a failed attempt against the endpoint and disables it
// when it has failed often and long enough.
func (d *Dispatcher) failed(ctx context.Context, c *ent.Client, j job, res result, now time.Time) (bool, error) {
	w, err := c.Webhook.Get(ctx, j.w.ID)
	if err != nil {
		return false, fmt.Errorf("load webhook %s: %w", j.w.ID, err)
	}
	u := c.Webhook.UpdateOne(w).AddConsecutiveFailures(1)
	since := now
	if w.FailingSince != nil {
		since = *w.FailingSince
	} else {
		u.SetFailingSince(now)
	}
	failures := w.ConsecutiveFailures + 1
	disable := w.Active && failures >= d.opts.DisableAfterFailures && now.Sub(since) >= d.opts.DisableAfter
	if disable {
		u.SetActive(false).SetDisabledAt(now)
	}
	if err := u.Exec(ctx); err != nil {
		return false, fmt.Errorf("count failure of %s: %w", w.ID, err)
	}
	if !disable {
		return false, nil
	}
	if err := failPending(ctx, c, w.ID, "endpoint disabled after failing"); err != nil {
		return false, err
	}
	e := c.Event.Create().
		SetOrganizationID(w.OrganizationID).
		SetType("webhook.disabled")
	if w.DomainID != "" {
		e.SetDomainID(w.DomainID)
	}
	err = e.SetPayload(map[string]any{
		"webhookId":           string(w.ID),
		"url":                 w.URL,
		"consecutiveFailures": failures,
		"failingSince":        since.Format(time.RFC3339),
		"lastError":           truncate(res.err, maxErrorLen),
	}).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("append webhook.disabled for %s: %w", w.ID, err)
	}
	return true, nil
}

func (d *Dispatcher) count(res result, disabled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if res.err == "" {
		d.stats.Delivered++
	} else {
		d.stats.Failed++
	}
	if disabled {
		d.stats.Disabled++
	}
}

// printable returns a one-line excerpt of a response body.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, 120)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
