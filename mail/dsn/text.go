package dsn

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// textPart is the human-readable first part (RFC 6522 §3): what happened
// to which recipient, what the remote server said, and what happens
// next. It is UTF-8, since the subject and the addresses may be, and
// quoted-printable, so that the part stays 7-bit.
func textPart(host string, r *Report, o original, ret returned) []byte {
	var t strings.Builder
	fmt.Fprintf(&t, "This is the mail system at %s.\n", host)

	groups := []struct {
		action Action
		intro  string
	}{
		{ActionFailed, "Your message could not be delivered to the recipients below, " +
			"and delivery will not be tried again."},
		{ActionDelayed, "Your message has not been delivered yet to the recipients below. " +
			"Delivery will be tried again, so you need not resend it; " +
			"you will get another notice if it still fails in the end."},
		{ActionDelivered, "Your message was delivered to the recipients below."},
		{ActionRelayed, "Your message was passed on to the recipients below " +
			"through a server that sends no further delivery notices."},
		{ActionExpanded, "Your message was delivered to the lists or aliases below, " +
			"which forward it to their members."},
	}
	for _, g := range groups {
		writeGroup(&t, g.action, g.intro, r.Recipients)
	}

	t.WriteString("\nThe message:\n")
	if o.subject != "" {
		fmt.Fprintf(&t, "  Subject: %s\n", o.subject)
	}
	if o.messageID != "" {
		fmt.Fprintf(&t, "  Message-ID: %s\n", o.messageID)
	}
	if !r.ArrivalDate.IsZero() {
		fmt.Fprintf(&t, "  Received: %s\n", r.ArrivalDate.Format(time.RFC1123Z))
	}
	t.WriteString(returnNote(ret))

	var buf bytes.Buffer
	writeField(&buf, "Content-Type", "text/plain; charset=utf-8")
	writeField(&buf, "Content-Transfer-Encoding", "quoted-printable")
	writeField(&buf, "Content-Description", "Notification")
	buf.WriteString("\r\n")
	writeQP(&buf, []byte(t.String()))
	return buf.Bytes()
}

// writeGroup writes the recipients with one action, if there are any.
func writeGroup(t *strings.Builder, action Action, intro string, rcpts []Recipient) {
	first := true
	for _, rc := range rcpts {
		if rc.Action != action {
			continue
		}
		if first {
			fmt.Fprintf(t, "\n%s\n\n", intro)
			first = false
		}
		fmt.Fprintf(t, "<%s>: %s (%s)\n", rc.FinalRecipient, rc.Action, rc.Status)
		if rc.OriginalRecipient != "" && rc.OriginalRecipient != rc.FinalRecipient {
			fmt.Fprintf(t, "  originally addressed to <%s>\n", rc.OriginalRecipient)
		}
		diag := oneLine(rc.Diagnostic, maxDiagnosticLen)
		remote := rc.RemoteMTA
		if !isToken(remote) {
			remote = ""
		}
		switch {
		case diag != "" && remote != "":
			fmt.Fprintf(t, "  %s said: %s\n", remote, diag)
		case diag != "":
			fmt.Fprintf(t, "  reason: %s\n", diag)
		}
		if action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
			fmt.Fprintf(t, "  retrying until %s\n", rc.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
}

// returnNote says which part of the message is attached.
func returnNote(ret returned) string {
	switch {
	case ret.part == nil:
		return ""
	case ret.full:
		return "\nThe message is attached.\n"
	case ret.downgraded:
		return "\nThe message's header is attached; the whole message was too large " +
			"or could not be attached unchanged.\n"
	case ret.cut:
		return "\nThe start of the message's header is attached.\n"
	}
	return "\nThe message's header is attached.\n"
}
