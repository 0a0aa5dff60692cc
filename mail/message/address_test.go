package message

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseAddressList_Lenient(t *testing.T) {
	tests := []struct {
		name, in string
		want     []EnvelopeAddress
	}{
		{"simple", "a@b.example", []EnvelopeAddress{{Mailbox: "a", Host: "b.example"}}},
		{"display names", `"Doe, Jane" <jane@x.example>, Bob <bob@y.example>`, []EnvelopeAddress{
			{Name: "Doe, Jane", Mailbox: "jane", Host: "x.example"},
			{Name: "Bob", Mailbox: "bob", Host: "y.example"},
		}},
		{"empty group", "undisclosed-recipients:;", []EnvelopeAddress{
			{Mailbox: "undisclosed-recipients"}, {},
		}},
		{"group and mailbox", "Team: a@x.example, b@x.example;, c@y.example", []EnvelopeAddress{
			{Mailbox: "Team"}, {Mailbox: "a", Host: "x.example"}, {Mailbox: "b", Host: "x.example"}, {},
			{Mailbox: "c", Host: "y.example"},
		}},
		{"unclosed group", "Team: a@x.example", []EnvelopeAddress{
			{Mailbox: "Team"}, {Mailbox: "a", Host: "x.example"}, {},
		}},
		{"one bad address", "good@x.example, bad <<>>, Ünïcode <u@x.example>", []EnvelopeAddress{
			{Mailbox: "good", Host: "x.example"}, {Name: "Ünïcode", Mailbox: "u", Host: "x.example"},
		}},
		{"source route", "<@r1,@r2:user@host.example>", []EnvelopeAddress{
			{Mailbox: "user", Host: "host.example"},
		}},
		{"comment", "(boss) <boss@x.example>", []EnvelopeAddress{{Mailbox: "boss", Host: "x.example"}}},
		{"encoded name", "=?utf-8?q?Zo=C3=AB?= <zoe@x.example>", []EnvelopeAddress{
			{Name: "Zoë", Mailbox: "zoe", Host: "x.example"},
		}},
		{"no domain dropped", "localpart, <>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := envelopeList(parseAddressList(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseAddressList(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseDate_Formats(t *testing.T) {
	want := time.Date(2025, 3, 4, 10, 14, 58, 0, time.FixedZone("", 3600))
	tests := []struct {
		in string
		ok bool
	}{
		{"Tue, 4 Mar 2025 10:14:58 +0100", true},
		{"Tue, 04 Mar 2025 10:14:58 +0100 (CET)", true},
		{"4 Mar 2025 10:14:58 +0100", true},
		{"Tue,  4 Mar 2025 10:14:58 +0100", true},
		{"2025-03-04T10:14:58+01:00", true},
		{"Tue Mar 4 10:14:58 +0100 2025", true},
		{"yesterday", false},
		{"", false},
		{"Tue, 4 Mar 99999 10:14:58 +0100", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseDate(tt.in)
			if ok != tt.ok {
				t.Fatalf("parseDate(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && !got.Equal(want) {
				t.Errorf("parseDate(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func TestMsgIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{" <a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}},
		{"<a @b>", []string{"a@b"}},
		{"bare@id", []string{"bare@id"}},
		{"<unclosed@id", []string{"unclosed@id"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := msgIDs(tt.in, 10); !cmp.Equal(got, tt.want) {
			t.Errorf("msgIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAddress_String(t *testing.T) {
	tests := []struct {
		a    Address
		want string
	}{
		{Address{Email: "a@b"}, "a@b"},
		{Address{Name: "Zoë", Email: "z@b"}, "Zoë <z@b>"},
		{Address{Name: `Doe, "J"`, Email: "j@b"}, `"Doe, \"J\"" <j@b>`},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}
