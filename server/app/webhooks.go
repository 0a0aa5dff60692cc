package app

import (
	"context"

	"github.com/lightr-mail/lightr/jobs/queue"
	"github.com/lightr-mail/lightr/jobs/webhooks"
)

// webhookPolicy is the address policy of webhook endpoints, from the
// webhooks section of the configuration.
func (a *App) webhookPolicy() webhooks.Policy {
	c := a.Config.Webhooks
	return webhooks.Policy{AllowLoopback: c.AllowLoopback, AllowPrivate: c.AllowPrivate, AllowHTTP: c.AllowHTTP}
}

// startWebhooks starts the webhook dispatcher and its workers. wake tells
// it of a delivery queued outside the event log (testWebhook); stop stops
// them and returns once the attempts in flight (bounded by
// webhooks.timeout) are recorded.
func (a *App) startWebhooks() (wake, stop func()) {
	c := a.Config.Webhooks
	d := webhooks.New(a.DB.Client, webhooks.Options{
		Policy:               a.webhookPolicy(),
		Workers:              c.Workers,
		Timeout:              c.Timeout,
		Schedule:             queue.Schedule(c.RetrySchedule),
		MaxAttempts:          c.MaxAttempts,
		MaxAge:               c.MaxAge,
		DisableAfterFailures: c.DisableAfterFailures,
		DisableAfter:         c.DisableAfter,
		PollInterval:         c.PollInterval,
		Node:                 a.Config.Outbound.NodeName,
		Notify:               a.Notify,
		Log:                  a.Log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	a.Log.Info("webhook workers started", "workers", c.Workers,
		"allow_loopback", c.AllowLoopback, "allow_private", c.AllowPrivate)
	return d.Wake, func() {
		cancel()
		<-done
	}
}
