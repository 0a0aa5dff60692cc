package verify_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lightr-mail/lightr/mail/verify"
)

// body is the body of the test messages; tamper changes one byte of it.
const body = "Hello, world.\n"

// tamper changes one byte of the body of a signed message.
func tamper(tb testing.TB, raw []byte) []byte {
	tb.Helper()
	out := bytes.Replace(raw, []byte("Hello, world."), []byte("Hello, World."), 1)
	if bytes.Equal(out, raw) {
		tb.Fatal("tamper: body not found")
	}
	return out
}

// want is what a case expects of the Result; the Header is checked apart.
type want struct {
	SPF, DKIM, DMARC string
	SPFDomain        string
	DKIMDomains      []string
	FromDomain       string
	DMARCPolicy      string
	Reject           bool
	Quarantine       bool
}

func TestVerify_Scenarios(t *testing.T) {
	f := newFixture(t)
	rsaKey, edKey := keys(t)
	local := net.ParseIP("127.0.0.1")
	stranger := net.ParseIP("127.0.0.9")
	plain := message("Alice <alice@example.com>", body)
	signedRSA := signGo(t, plain, "example.com", "rsa", rsaKey)

	tests := []struct {
		name string
		in   verify.Input
		want want
	}{
		{"AllPassRSA",
			verify.Input{RemoteIP: local, Helo: "mx.example.com", MailFrom: "alice@example.com", Raw: signedRSA},
			want{"pass", "pass", "pass", "example.com", []string{"example.com"}, "example.com", "reject", false, false}},
		{"AllPassEd25519",
			verify.Input{RemoteIP: local, MailFrom: "alice@example.com",
				Raw: signGo(t, plain, "example.com", "ed", edKey)},
			want{"pass", "pass", "pass", "example.com", []string{"example.com"}, "example.com", "reject", false, false}},
		{"BodyChangedSPFUnaligned",
			verify.Input{RemoteIP: local, MailFrom: "bounce@other.example.net", Raw: tamper(t, signedRSA)},
			want{"pass", "fail", "fail", "other.example.net", nil, "example.com", "reject", true, false}},
		{"BodyChangedSPFAligned",
			verify.Input{RemoteIP: local, MailFrom: "alice@example.com", Raw: tamper(t, signedRSA)},
			want{"pass", "fail", "pass", "example.com", nil, "example.com", "reject", false, false}},
		{"SPFFailFromAnotherIP",
			verify.Input{RemoteIP: stranger, MailFrom: "alice@example.com", Raw: plain},
			want{"fail", "none", "fail", "example.com", nil, "example.com", "reject", true, false}},
		{"SPFFailButDKIMAligned",
			verify.Input{RemoteIP: stranger, MailFrom: "alice@example.com", Raw: signedRSA},
			want{"fail", "pass", "pass", "example.com", []string{"example.com"}, "example.com", "reject", false, false}},
		{"SoftFail",
			verify.Input{RemoteIP: local, MailFrom: "bob@soft.example.net",
				Raw: message("bob@soft.example.net", body)},
			want{"softfail", "none", "fail", "soft.example.net", nil, "soft.example.net", "quarantine", false, true}},
		{"NoRecords",
			verify.Input{RemoteIP: local, MailFrom: "carol@norecords.example.org",
				Raw: message("carol@norecords.example.org", body)},
			want{"none", "none", "none", "norecords.example.org", nil, "norecords.example.org", "", false, false}},
		{"ServfailIsTemperror",
			verify.Input{RemoteIP: local, MailFrom: "dave@broken.example.com",
				Raw: message("dave@broken.example.com", body)},
			want{"temperror", "none", "temperror", "broken.example.com", nil, "broken.example.com", "", false, false}},
		{"RelaxedAlignmentSubdomain",
			verify.Input{RemoteIP: local, MailFrom: "bounce@mail.example.com", Raw: plain},
			want{"pass", "none", "pass", "mail.example.com", nil, "example.com", "reject", false, false}},
		{"StrictAlignmentSubdomain",
			verify.Input{RemoteIP: local, MailFrom: "bounce@mail.strict.example.org",
				Raw: message("erin@strict.example.org", body)},
			want{"pass", "none", "fail", "mail.strict.example.org", nil, "strict.example.org", "reject", true, false}},
		{"SubdomainAuthorGetsOrgSubdomainPolicy",
			verify.Input{RemoteIP: stranger, MailFrom: "frank@news.example.com",
				Raw: message("frank@news.example.com", body)},
			want{"none", "none", "fail", "news.example.com", nil, "news.example.com", "quarantine", false, true}},
		{"NullSenderUsesHelo",
			verify.Input{RemoteIP: local, Helo: "mx.example.com", MailFrom: "", Raw: plain},
			want{"pass", "none", "pass", "mx.example.com", nil, "example.com", "reject", false, false}},
		{"NullSenderHeloLiteral",
			verify.Input{RemoteIP: local, Helo: "[127.0.0.1]", MailFrom: "", Raw: signedRSA},
			want{"none", "pass", "pass", "[127.0.0.1]", []string{"example.com"}, "example.com", "reject", false, false}},
		{"PartialRejectIsQuarantine",
			verify.Input{RemoteIP: stranger, MailFrom: "gina@pct.example.org",
				Raw: message("gina@pct.example.org", body)},
			want{"fail", "none", "fail", "pct.example.org", nil, "pct.example.org", "quarantine", false, true}},
		{"DKIMKeyMissingIsPermerror",
			verify.Input{RemoteIP: stranger, MailFrom: "alice@example.com",
				Raw: signGo(t, plain, "example.com", "nokey", rsaKey)},
			want{"fail", "permerror", "fail", "example.com", nil, "example.com", "reject", true, false}},
		{"DKIMKeyServfailIsTemperror",
			verify.Input{RemoteIP: stranger, MailFrom: "alice@example.com",
				Raw: signGo(t, plain, "example.com", "broken", rsaKey)},
			want{"fail", "temperror", "temperror", "example.com", nil, "example.com", "reject", false, false}},
		{"MissingFrom",
			verify.Input{RemoteIP: local, MailFrom: "alice@example.com", Raw: message("", body)},
			want{"pass", "none", "none", "example.com", nil, "", "", false, false}},
		{"MalformedFrom",
			verify.Input{RemoteIP: local, MailFrom: "alice@example.com", Raw: message("not an address", body)},
			want{"pass", "none", "permerror", "example.com", nil, "", "", false, false}},
		{"SecondAuthorCannotHideFailure",
			verify.Input{RemoteIP: stranger, MailFrom: "carol@norecords.example.org",
				Raw: message("carol@norecords.example.org, alice@example.com", body)},
			want{"none", "none", "fail", "norecords.example.org", nil, "example.com", "reject", true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.v.Verify(context.Background(), tt.in)
			got := want{
				res.SPF, res.DKIM, res.DMARC, res.SPFDomain, res.DKIMDomains, res.FromDomain,
				res.DMARCPolicy, res.RejectByDMARC(), res.QuarantineByDMARC(),
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Verify (-want +got):\n%s\nheader:\n%s", diff, res.Header)
			}
			checkHeader(t, res)
		})
	}
}

func TestVerify_PythonSigned(t *testing.T) {
	f := newFixture(t)
	rsaKey, edKey := keys(t)
	plain := message("Alice <alice@example.com>", body)
	for name, sign := range map[string]func(t *testing.T) []byte{
		"RSA":     func(t *testing.T) []byte { return signPython(t, plain, "example.com", "rsa", rsaKey) },
		"Ed25519": func(t *testing.T) []byte { return signPython(t, plain, "example.com", "ed", edKey) },
	} {
		t.Run(name, func(t *testing.T) {
			signed := sign(t)
			in := verify.Input{RemoteIP: net.ParseIP("127.0.0.9"), MailFrom: "alice@example.com", Raw: signed}
			res := f.v.Verify(context.Background(), in)
			if res.DKIM != "pass" || res.DMARC != "pass" {
				t.Errorf("dkimpy-signed: DKIM=%s DMARC=%s\n%s", res.DKIM, res.DMARC, res.Header)
			}
			res = f.v.Verify(context.Background(), verify.Input{
				RemoteIP: in.RemoteIP, MailFrom: in.MailFrom, Raw: tamper(t, signed),
			})
			if res.DKIM != "fail" || res.DMARC != "fail" {
				t.Errorf("dkimpy-signed, tampered: DKIM=%s DMARC=%s", res.DKIM, res.DMARC)
			}
		})
	}
}

func TestVerify_MaxSignatures(t *testing.T) {
	f := newFixture(t)
	rsaKey, _ := keys(t)
	raw := message("alice@example.com", body)
	// Four signatures whose keys are missing, then a good one.
	raw = signGo(t, raw, "example.com", "rsa", rsaKey)
	for range 4 {
		raw = signGo(t, raw, "example.com", "nokey", rsaKey)
	}
	in := verify.Input{RemoteIP: net.ParseIP("127.0.0.9"), MailFrom: "alice@example.com", Raw: raw}

	f.v.MaxSignatures = 4
	if res := f.v.Verify(context.Background(), in); res.DKIM != "permerror" {
		t.Errorf("with 4 verified: DKIM = %s, want permerror (the good one ignored)", res.DKIM)
	}
	f.v.MaxSignatures = 0
	res := f.v.Verify(context.Background(), in)
	if res.DKIM != "pass" || strings.Count(res.Header, "dkim=") != 5 {
		t.Errorf("with the default 5: DKIM = %s, header:\n%s", res.DKIM, res.Header)
	}
}

func TestVerify_TimeoutIsTemperror(t *testing.T) {
	f := newFixture(t)
	f.srv.Drop("slow.example.com")
	f.srv.Drop("_dmarc.slow.example.com")
	f.v.Timeout = 300 * time.Millisecond

	start := time.Now()
	res := f.v.Verify(context.Background(), verify.Input{
		RemoteIP: net.ParseIP("127.0.0.1"), MailFrom: "a@slow.example.com",
		Raw: message("a@slow.example.com", body),
	})
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Verify took %v with a 300ms timeout", elapsed)
	}
	if res.SPF != "temperror" || res.DMARC != "temperror" {
		t.Errorf("SPF=%s DMARC=%s, want temperror", res.SPF, res.DMARC)
	}
}

func TestVerify_NoResolver(t *testing.T) {
	v := &verify.Verifier{}
	res := v.Verify(context.Background(), verify.Input{
		RemoteIP: net.ParseIP("127.0.0.1"), MailFrom: "a@example.com", Raw: message("a@example.com", body),
	})
	if res.SPF != "temperror" || res.DMARC != "temperror" {
		t.Errorf("SPF=%s DMARC=%s, want temperror", res.SPF, res.DMARC)
	}
	if !strings.HasPrefix(res.Header, "Authentication-Results: "+verify.DefaultAuthServID+";") {
		t.Errorf("header = %q", res.Header)
	}
}
