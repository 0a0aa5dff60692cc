package verify_test

import (
	"bytes"
	"context"
	"crypto"
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

// in builds an Input.
func in(ip net.IP, helo, mailFrom string, raw []byte) verify.Input {
	return verify.Input{RemoteIP: ip, Helo: helo, MailFrom: mailFrom, Raw: raw}
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
	byEx := []string{"example.com"}

	tests := []struct {
		name string
		in   verify.Input
		want want
	}{
		{"AllPassRSA",
			in(local, "mx.example.com", "alice@example.com", signedRSA),
			want{"pass", "pass", "pass", "example.com", byEx,
				"example.com", "reject", false, false}},
		{"AllPassEd25519",
			in(local, "", "alice@example.com", signGo(t, plain, "example.com", "ed", edKey)),
			want{"pass", "pass", "pass", "example.com", byEx,
				"example.com", "reject", false, false}},
		{"BodyChangedSPFUnaligned",
			in(local, "", "bounce@other.example.net", tamper(t, signedRSA)),
			want{"pass", "fail", "fail", "other.example.net", nil,
				"example.com", "reject", true, false}},
		{"BodyChangedSPFAligned",
			in(local, "", "alice@example.com", tamper(t, signedRSA)),
			want{"pass", "fail", "pass", "example.com", nil,
				"example.com", "reject", false, false}},
		{"SPFFailFromAnotherIP",
			in(stranger, "", "alice@example.com", plain),
			want{"fail", "none", "fail", "example.com", nil, "example.com", "reject", true, false}},
		{"SPFFailButDKIMAligned",
			in(stranger, "", "alice@example.com", signedRSA),
			want{"fail", "pass", "pass", "example.com", byEx,
				"example.com", "reject", false, false}},
		{"SoftFail",
			in(local, "", "bob@soft.example.net", message("bob@soft.example.net", body)),
			want{"softfail", "none", "fail", "soft.example.net", nil,
				"soft.example.net", "quarantine", false, true}},
		{"NoRecords",
			in(local, "", "carol@norecords.example.org",
				message("carol@norecords.example.org", body)),
			want{"none", "none", "none", "norecords.example.org", nil,
				"norecords.example.org", "", false, false}},
		{"ServfailIsTemperror",
			in(local, "", "dave@broken.example.com", message("dave@broken.example.com", body)),
			want{"temperror", "none", "temperror", "broken.example.com", nil,
				"broken.example.com", "", false, false}},
		{"RelaxedAlignmentSubdomain",
			in(local, "", "bounce@mail.example.com", plain),
			want{"pass", "none", "pass", "mail.example.com", nil,
				"example.com", "reject", false, false}},
		{"StrictAlignmentSubdomain",
			in(local, "", "bounce@mail.strict.example.org",
				message("erin@strict.example.org", body)),
			want{"pass", "none", "fail", "mail.strict.example.org", nil,
				"strict.example.org", "reject", true, false}},
		{"SubdomainAuthorGetsOrgSubdomainPolicy",
			in(stranger, "", "frank@news.example.com", message("frank@news.example.com", body)),
			want{"none", "none", "fail", "news.example.com", nil,
				"news.example.com", "quarantine", false, true}},
		{"NullSenderUsesHelo",
			in(local, "mx.example.com", "", plain),
			want{"pass", "none", "pass", "mx.example.com", nil,
				"example.com", "reject", false, false}},
		{"NullSenderHeloLiteral",
			in(local, "[127.0.0.1]", "", signedRSA),
			want{"none", "pass", "pass", "[127.0.0.1]", byEx,
				"example.com", "reject", false, false}},
		{"PartialRejectIsQuarantine",
			in(stranger, "", "gina@pct.example.org", message("gina@pct.example.org", body)),
			want{"fail", "none", "fail", "pct.example.org", nil,
				"pct.example.org", "quarantine", false, true}},
		{"DKIMKeyMissingIsPermerror",
			in(stranger, "", "alice@example.com", signGo(t, plain, "example.com", "nokey", rsaKey)),
			want{"fail", "permerror", "fail", "example.com", nil,
				"example.com", "reject", true, false}},
		{"DKIMKeyServfailIsTemperror",
			in(stranger, "", "alice@example.com",
				signGo(t, plain, "example.com", "broken", rsaKey)),
			want{"fail", "temperror", "temperror", "example.com", nil,
				"example.com", "reject", false, false}},
		{"MissingFrom",
			in(local, "", "alice@example.com", message("", body)),
			want{"pass", "none", "none", "example.com", nil, "", "", false, false}},
		{"MalformedFrom",
			in(local, "", "alice@example.com", message("not an address", body)),
			want{"pass", "none", "permerror", "example.com", nil, "", "", false, false}},
		{"SecondAuthorCannotHideFailure",
			in(stranger, "", "carol@norecords.example.org",
				message("carol@norecords.example.org, alice@example.com", body)),
			want{"none", "none", "fail", "norecords.example.org", nil,
				"example.com", "reject", true, false}},
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
	for _, tc := range []struct {
		name, selector string
		key            crypto.Signer
	}{
		{"RSA", "rsa", rsaKey},
		{"Ed25519", "ed", edKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := signPython(t, plain, "example.com", tc.selector, tc.key)
			input := in(net.ParseIP("127.0.0.9"), "", "alice@example.com", signed)
			res := f.v.Verify(context.Background(), input)
			if res.DKIM != "pass" || res.DMARC != "pass" {
				t.Errorf("dkimpy-signed: DKIM=%s DMARC=%s\n%s", res.DKIM, res.DMARC, res.Header)
			}
			res = f.v.Verify(context.Background(), verify.Input{
				RemoteIP: input.RemoteIP, MailFrom: input.MailFrom, Raw: tamper(t, signed),
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
		RemoteIP: net.ParseIP("127.0.0.1"),
		MailFrom: "a@example.com",
		Raw:      message("a@example.com", body),
	})
	if res.SPF != "temperror" || res.DMARC != "temperror" {
		t.Errorf("SPF=%s DMARC=%s, want temperror", res.SPF, res.DMARC)
	}
	if !strings.HasPrefix(res.Header, "Authentication-Results: "+verify.DefaultAuthServID+";") {
		t.Errorf("header = %q", res.Header)
	}
}
