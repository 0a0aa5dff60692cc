package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/outboundrecipient"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/outbound"
)

// Policy is how Complete treats a deferral.
type Policy struct {
	// Schedule gives the delays between attempts; nil means
	// DefaultSchedule.
	Schedule Schedule

	// MaxAge is how long after it was queued a message is given up;
	// zero means DefaultMaxAge.
	MaxAge time.Duration

	// Rand returns a number in [0, 1) for the jitter; nil means
	// math/rand/v2.Float64. Tests fix it.
	Rand func() float64

	// OnFailures, when set, is called inside Complete's transaction with
	// the recipients that bounced or failed, if any, so that the bounce
	// owed to the sender is queued atomically with the failure: a crash
	// can lose neither, nor send it twice. An error rolls everything back.
	OnFailures func(ctx context.Context, tx *ent.Client, u *Unit, failures []Failure) error
}

// Failure is a recipient that Complete left bounced or failed, to whose
// sender a delivery status notification is owed.
type Failure struct {
	Recipient Recipient
	Status    outbound.Status // StatusBounced or StatusFailed
	Result    outbound.RecipientResult

	// Expired is true when the recipient failed because a deferral came
	// after MaxAge; Result is then that deferral.
	Expired bool
}

// Complete records the outcome of delivering u: results holds one entry
// per recipient of u, in order, as outbound.Client.Deliver returns them.
// Each recipient gets its new status and a DeliveryAttempt row, and the
// lease is cleared. A deferred recipient is due again after p's delay for
// its attempt count, or fails if its message is older than p.MaxAge. A
// recipient canceled while the unit was in flight stays canceled.
//
// Complete returns the recipients that bounced or failed. When u's lease
// was lost it changes nothing and returns ErrLeaseLost.
func Complete(
	ctx context.Context,
	c *ent.Client,
	u *Unit,
	results []outbound.RecipientResult,
	now time.Time,
	p Policy,
) ([]Failure, error) {
	o := &Outcome{Unit: u, Results: results}
	if err := CompleteAll(ctx, c, []*Outcome{o}, now, p); err != nil {
		return nil, err
	}
	return o.Failures, o.Err
}

// Outcome is the result of delivering one unit, for CompleteAll: Unit and
// Results are the input, as for Complete; Failures and Err the output.
type Outcome struct {
	Unit    *Unit
	Results []outbound.RecipientResult

	// Failures are the recipients that bounced or failed.
	Failures []Failure
	// Err is this unit's own failure, which changed nothing of it:
	// ErrLeaseLost, or results that do not match the unit.
	Err error
}

// CompleteAll records several units' outcomes in one transaction, as
// Complete does for each, so that a busy sender pays one commit (one
// fsync) for many deliveries. A unit whose lease was lost, or whose
// results do not match it, gets its Err and is skipped; any other error
// rolls everything back and is returned, and the caller may then
// complete the units one by one to isolate the bad one.
func CompleteAll(ctx context.Context, c *ent.Client, outs []*Outcome, now time.Time, p Policy) error {
	now = now.UTC()
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	maxAge := p.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	for _, o := range outs {
		o.Failures, o.Err = nil, check(o.Unit, o.Results)
	}
	return inTx(ctx, c, "complete", func(ctx context.Context, c *ent.Client) error {
		for _, o := range outs {
			if o.Err != nil {
				continue
			}
			if err := completeOne(ctx, c, o, now, maxAge, rnd, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// check reports results that cannot be the outcome of u.
func check(u *Unit, results []outbound.RecipientResult) error {
	if len(results) != len(u.Recipients) {
		return fmt.Errorf("queue: complete %s/%s: %d results for %d recipients",
			u.MessageID, u.Domain, len(results), len(u.Recipients))
	}
	for i, r := range results {
		if !strings.EqualFold(r.Address, u.Recipients[i].Address) {
			return fmt.Errorf("queue: complete %s/%s: result %d is for %q, not %q",
				u.MessageID, u.Domain, i, r.Address, u.Recipients[i].Address)
		}
	}
	return nil
}

// completeOne records o inside the transaction of c.
func completeOne(
	ctx context.Context, c *ent.Client, o *Outcome, now time.Time, maxAge time.Duration,
	rnd func() float64, p Policy,
) error {
	u := o.Unit
	// One delay for the whole unit, so that its recipients stay together.
	next := now.Add(p.Schedule.Next(u.Attempts+1, rnd()))
	expired := now.Sub(u.QueuedAt) > maxAge
	rows, err := leased(ctx, c, u)
	if errors.Is(err, ErrLeaseLost) {
		o.Err = err
		return nil
	}
	if err != nil {
		return err
	}
	status := make(map[pulid.ID]outboundrecipient.Status, len(rows))
	for _, r := range rows {
		status[r.ID] = r.Status
	}
	for i, res := range o.Results {
		rc := u.Recipients[i]
		f, err := record(ctx, c, u, rc, status[rc.ID], res, next, expired)
		if err != nil {
			return err
		}
		if f != nil {
			o.Failures = append(o.Failures, *f)
		}
	}
	if len(o.Failures) > 0 && p.OnFailures != nil {
		return p.OnFailures(ctx, c, u, o.Failures)
	}
	return nil
}

// record writes one recipient's outcome, its DeliveryAttempt row and its
// event (write.go has the statements).
func record(
	ctx context.Context,
	c *ent.Client,
	u *Unit,
	rc Recipient,
	current outboundrecipient.Status,
	res outbound.RecipientResult,
	next time.Time,
	expired bool,
) (*Failure, error) {
	now := time.Now().UTC()
	var f *Failure
	var status outboundrecipient.Status
	var nextAt *time.Time
	lastError := describe(res)
	switch res.Status {
	case outbound.StatusDelivered:
		status, lastError = outboundrecipient.StatusDelivered, ""
	case outbound.StatusDeferred:
		if expired {
			status = outboundrecipient.StatusFailed
			f = &Failure{Recipient: rc, Status: outbound.StatusFailed, Result: res, Expired: true}
		} else {
			status, nextAt = outboundrecipient.StatusDeferred, &next
		}
	case outbound.StatusBounced, outbound.StatusFailed:
		status = outboundrecipient.Status(res.Status)
		f = &Failure{Recipient: rc, Status: res.Status, Result: res}
	default:
		return nil, fmt.Errorf("queue: complete %s: unknown status %q", rc.Address, res.Status)
	}
	if current == outboundrecipient.StatusCanceled {
		status, nextAt, f = outboundrecipient.StatusCanceled, nil, nil
	}
	_, err := c.ExecContext(ctx, updateRecipient,
		string(status), rc.Attempts+1, nullTime(nextAt), lastError, res.RemoteMX, res.TLS, now, string(rc.ID))
	if err != nil {
		return nil, fmt.Errorf("queue: update %s: %w", rc.Address, err)
	}
	var code any
	if res.Code != 0 {
		code = res.Code
	}
	_, err = c.ExecContext(ctx, insertAttempt,
		string(pulid.New("att")), now, now, string(u.OrgID), string(rc.ID), string(res.Status), code,
		res.EnhancedCode, res.Response, res.RemoteMX, res.TLS, max(res.Duration.Milliseconds(), 0))
	if err != nil {
		return nil, fmt.Errorf("queue: log attempt for %s: %w", rc.Address, err)
	}
	if current == outboundrecipient.StatusCanceled {
		return nil, nil // its cancellation was logged
	}
	if err := appendEvent(ctx, c, u, rc, res, next, f, now); err != nil {
		return nil, fmt.Errorf("queue: append event for %s: %w", rc.Address, err)
	}
	return f, nil
}

// appendEvent logs one recipient's outcome: message.delivered, .deferred
// (with the next attempt), .bounced or .failed. A recipient canceled while
// in flight gets none; its cancellation had one.
func appendEvent(
	ctx context.Context, c *ent.Client, u *Unit, rc Recipient, res outbound.RecipientResult,
	next time.Time, f *Failure, now time.Time,
) error {
	status := res.Status
	if f != nil {
		status = f.Status
	}
	payload := map[string]any{
		"status":        string(status),
		"attempt":       rc.Attempts + 1,
		"enhanced_code": res.EnhancedCode,
		"response":      res.Response,
		"remote_mx":     res.RemoteMX,
		"tls":           res.TLS,
	}
	if res.Code != 0 {
		payload["code"] = res.Code
	}
	if res.TLSVersion != "" {
		payload["tls_version"] = res.TLSVersion
	}
	if status == outbound.StatusDeferred {
		payload["next_attempt_at"] = next.Format(time.RFC3339)
	}
	if f != nil && f.Expired {
		payload["expired"] = true
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, insertEvent,
		string(pulid.New("evt")), string(u.OrgID), "message."+string(status), string(u.SenderDomain),
		nullString(string(u.Account)), string(u.MessageID), rc.Address, body, now)
	return err
}

// describe is the last_error text of a result: "451 4.4.1 text".
func describe(res outbound.RecipientResult) string {
	var parts []string
	if res.Code != 0 {
		parts = append(parts, strconv.Itoa(res.Code))
	}
	if res.EnhancedCode != "" {
		parts = append(parts, res.EnhancedCode)
	}
	if res.Response != "" {
		parts = append(parts, res.Response)
	}
	return strings.Join(parts, " ")
}
