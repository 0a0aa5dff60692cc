package app

import (
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/notify"
)

// publishDelivered returns the delivery.Options.OnCommit that tells hub
// of the mailboxes each committed batch stored copies in. It runs on the
// committer's goroutine, which Publish never blocks.
func publishDelivered(hub *notify.Hub) func([]delivery.Delivered) {
	return func(ds []delivery.Delivered) {
		ids := make([]pulid.ID, len(ds))
		for i, d := range ds {
			ids[i] = d.MailboxID
		}
		hub.Publish(ids...)
	}
}
