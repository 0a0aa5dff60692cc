package app

import (
	"slices"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/notify"
)

// publishDelivered returns the delivery.Options.OnCommit that tells hub
// of the mailboxes each committed batch stored copies in, and of the
// organizations whose event logs got their message.received events. It
// runs on the committer's goroutine, which Publish never blocks.
func publishDelivered(hub *notify.Hub) func([]delivery.Delivered) {
	return func(ds []delivery.Delivered) {
		ids := make([]pulid.ID, len(ds))
		var orgs []pulid.ID
		for i, d := range ds {
			ids[i] = d.MailboxID
			if !slices.Contains(orgs, d.Recipient.OrgID) {
				orgs = append(orgs, d.Recipient.OrgID)
			}
		}
		hub.Publish(ids...)
		hub.PublishEvents(orgs...)
	}
}
