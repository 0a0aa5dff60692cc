package dsn_test

import (
	"testing"

	"github.com/lightr-mail/lightr/mail/dsn"
)

func TestShouldBounce(t *testing.T) {
	ordinary := []byte(originalMsg)
	withField := func(field string) []byte { return []byte(field + "\r\n" + originalMsg) }
	notification := build(t, newBuilder(), failedReport())

	cases := []struct {
		name   string
		sender string
		msg    []byte
		want   bool
	}{
		{"ordinary", "ana@sender.test", ordinary, true},
		{"null sender", "", ordinary, false},
		{"<> sender", "<>", ordinary, false},
		{"spaced <>", " <> ", ordinary, false},
		{"a notification", "ana@sender.test", notification, false},
		{"a notification with a sender", "relay@forwarder.test", notification, false},
		{"any report type", "ana@sender.test",
			withField("Content-Type: multipart/report; report-type=disposition-notification; boundary=x"), false},
		{"report, broken parameters", "ana@sender.test",
			withField(`Content-Type: Multipart/Report; report-type="delivery-status`), false},
		{"auto-replied", "ana@sender.test", withField("Auto-Submitted: auto-replied"), false},
		{"auto-notified", "ana@sender.test", withField("Auto-Submitted: auto-notified"), false},
		{"auto-replied with comment", "ana@sender.test",
			withField("Auto-Submitted: (vacation) Auto-Replied; owner-email=a@b.test"), false},
		{"unknown auto value", "ana@sender.test", withField("Auto-Submitted: auto-something"), false},
		{"auto-submitted no", "ana@sender.test", withField("Auto-Submitted: no"), true},
		{"auto-generated", "ana@sender.test", withField("Auto-Submitted: auto-generated"), true},
		{"empty auto-submitted", "ana@sender.test", withField("Auto-Submitted:"), true},
		{"other multipart", "ana@sender.test",
			withField("Content-Type: multipart/mixed; boundary=x"), true},
		{"no header", "ana@sender.test", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := dsn.ShouldBounce(c.sender, c.msg); got != c.want {
				t.Errorf("ShouldBounce(%q) = %v, want %v", c.sender, got, c.want)
			}
		})
	}
}
