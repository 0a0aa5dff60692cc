package app

import (
	"github.com/lightr-mail/lightr/mail/feed"
	"github.com/lightr-mail/lightr/server/httpapi"
)

// NewFeed returns the feed of event logs that the events subscription
// reads, woken by the same hub every writer publishes to after commit.
func (a *App) NewFeed() *feed.Feed {
	c := a.Config.Subscriptions
	return feed.New(a.DB.Client, a.Notify, feed.Options{
		Buffer:    c.Buffer,
		MaxPerOrg: c.MaxPerOrganization,
		Log:       a.Log.With("component", "feed"),
	})
}

// SubscriptionOptions are the HTTP API's subscription settings.
func (a *App) SubscriptionOptions() httpapi.Subscriptions {
	c := a.Config.Subscriptions
	return httpapi.Subscriptions{
		MaxPerConnection: c.MaxPerConnection,
		KeepAlive:        c.KeepAlive,
		InitTimeout:      c.InitTimeout,
		AllowedOrigins:   c.AllowedOrigins,
		Recheck:          c.CredentialRecheck,
	}
}
