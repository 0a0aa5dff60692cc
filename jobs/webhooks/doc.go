// Package webhooks delivers an organization's events to its HTTP
// endpoints, signed per the Standard Webhooks specification
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
//
// # Outbox
//
// Every event row has a seq that follows commit order (server/db). Each
// Webhook keeps cursor_seq, the last seq it has seen. The dispatcher, woken
// by notify.AllEvents after every commit that appended events and by a
// poll as a fallback (another process may write), reads the events past
// each active endpoint's cursor in its own organization, writes one
// WebhookDelivery row per event that passes the endpoint's filters (event
// types, domain) and advances the cursor, all in one transaction: an event
// is queued for an endpoint exactly once, and a crash loses nothing. A new
// or re-enabled endpoint starts at the end of the log; it gets the events
// committed after it, not the history.
//
// # Delivery
//
// Workers lease due deliveries (status pending, next_attempt_at past, no
// live lease, endpoint active) as jobs/queue leases delivery units, POST
// the envelope stored in the row and record the status code, latency and
// error. The delivery's id is the webhook-id header, and its body never
// changes, so a receiver can deduplicate retries. A 2xx answer delivers;
// anything else (a 3xx too: redirects are not followed), a timeout or a
// refused address is a failed attempt, retried after the Schedule's delay
// with jitter until MaxAttempts or MaxAge, after which the delivery fails.
//
// Delivery is at least once: a crash after the receiver answered but
// before the outcome was recorded sends the delivery again, with the same
// webhook-id. Order is not guaranteed: deliveries run concurrently and
// retries overtake nothing; the envelope's data.cursor (the event's seq)
// orders events for receivers that need it.
//
// # Disabling
//
// Each failed attempt counts against the endpoint and a success resets
// the count. When an endpoint has failed DisableAfterFailures times in a
// row over at least DisableAfter, it is disabled (active false,
// disabled_at set), its pending deliveries fail, and a webhook.disabled
// event is appended to its organization's log and published, so the
// organization's other endpoints and subscriptions hear of it.
//
// # Address checks
//
// Endpoint URLs are checked when they are saved (scheme, and literal
// addresses), and every connection is checked again when it is made, in
// the dialer's Control hook, on the address actually dialed: a name that
// resolves, or later re-resolves, to loopback, private, CGNAT, link-local
// (cloud metadata included), unique-local, multicast or unspecified
// addresses is refused before any packet is sent, unless the Policy allows
// loopback or private ranges. Proxies from the environment are ignored.
package webhooks
