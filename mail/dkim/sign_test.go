package dkim_test

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"github.com/lightr-mail/lightr/mail/dkim"
)

const testDomain = "example.org"

// testKeys are generated once per run: an RSA-2048 key takes a good part
// of a second under the race detector.
var testKeys = sync.OnceValues(func() (map[string]*dkim.Key, error) {
	rsaKey, err := dkim.Generate(dkim.RSA, 2048)
	if err != nil {
		return nil, err
	}
	edKey, err := dkim.Generate(dkim.Ed25519, 0)
	if err != nil {
		return nil, err
	}
	return map[string]*dkim.Key{dkim.RSA: rsaKey, dkim.Ed25519: edKey}, nil
})

// selectors are the selectors of the test keys: one each, as a TXT name
// holds one key record.
var selectors = map[string]string{dkim.RSA: "lr2026", dkim.Ed25519: "lr2026e"}

// signingKeys returns the RSA and the Ed25519 test key, in that order.
func signingKeys(t testing.TB) []dkim.SigningKey {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	var out []dkim.SigningKey
	for _, alg := range []string{dkim.RSA, dkim.Ed25519} {
		k, err := dkim.NewSigningKey(testDomain, selectors[alg], alg, keys[alg].PrivateDER)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

var zoneString = regexp.MustCompile(`"([^"]*)"`)

// records returns the TXT records of the test keys as a resolver returns
// them: the strings of the zone line that `lightr dkim-gen` prints,
// concatenated (RFC 7208 §3.3 style, which DKIM verifiers follow).
func records(t testing.TB) map[string]string {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]string{}
	for alg, k := range keys {
		line := dkim.ZoneLine(selectors[alg], testDomain, alg, k.PublicB64)
		name, _, ok := strings.Cut(line, ". IN TXT ")
		if !ok {
			t.Fatalf("zone line %q", line)
		}
		var v strings.Builder
		for _, m := range zoneString.FindAllStringSubmatch(line, -1) {
			v.WriteString(m[1])
		}
		if v.String() != dkim.RecordValue(alg, k.PublicB64) {
			t.Fatalf("zone line %q does not hold the record value", line)
		}
		recs[name] = v.String()
	}
	return recs
}

// goVerify verifies every signature of msg with go-msgauth against recs.
func goVerify(t testing.TB, recs map[string]string, msg []byte) []*msgauth.Verification {
	t.Helper()
	vs, err := msgauth.VerifyWithOptions(bytes.NewReader(msg), &msgauth.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if v, ok := recs[strings.TrimSuffix(name, ".")]; ok {
				return []string{v}, nil
			}
			return nil, fmt.Errorf("no TXT record at %s", name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// pyVerify verifies every signature of the messages with python3-dkim
// against recs, and returns the outcomes by message.
func pyVerify(t testing.TB, recs map[string]string, msgs map[string][]byte) map[string][]string {
	t.Helper()
	req := map[string]any{"records": recs}
	enc := map[string]string{}
	for id, m := range msgs {
		enc[id] = base64.StdEncoding.EncodeToString(m)
	}
	req["messages"] = enc
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("/usr/bin/python3", "testdata/verify.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-dkim (Debian package python3-dkim, with python3-nacl for Ed25519): %v\n%s",
			err, stderr.String())
	}
	var res map[string][]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python3-dkim output %q: %v", out, err)
	}
	return res
}

// sigTags returns the tags of every DKIM-Signature field of msg, in order.
func sigTags(t testing.TB, msg []byte) []map[string]string {
	t.Helper()
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	unfolded := strings.NewReplacer("\r\n ", " ", "\r\n\t", "\t").Replace(string(hdr) + "\r\n")
	var all []map[string]string
	for _, line := range strings.Split(unfolded, "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(name, "DKIM-Signature") {
			continue
		}
		tags := map[string]string{}
		for _, tv := range strings.Split(val, ";") {
			k, v, ok := strings.Cut(tv, "=")
			if ok {
				tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
			}
		}
		all = append(all, tags)
	}
	return all
}

// countField returns how often field is listed in h.
func countField(h, field string) int {
	n := 0
	for _, f := range strings.Split(h, ":") {
		if strings.EqualFold(f, field) {
			n++
		}
	}
	return n
}

// messages are the messages every signer test signs, in CRLF form unless
// the case is about line ends.
var messages = map[string]string{
	"plain": "From: Alice <alice@example.org>\r\n" +
		"To: bob@example.net\r\n" +
		"Subject: Lunch\r\n" +
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n" +
		"Message-ID: <lunch.1@example.org>\r\n" +
		"\r\n" +
		"Noon at the usual place?\r\n" +
		".a line starting with a dot\r\n",
	"multipart": "From: alice@example.org\r\n" +
		"To: bob@example.net, carol@example.net\r\n" +
		"Cc: dave@example.net\r\n" +
		"Reply-To: lists@example.org\r\n" +
		"Subject: Report\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
		"\r\n" +
		"--b1\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Figures =E2=82=AC 12\r\n" +
		"--b1\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"\r\n" +
		"<p>Figures &euro; 12</p>\r\n" +
		"--b1--\r\n",
	"utf8": "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\r\n" +
		"To: Zoë <zoe@example.net>\r\n" +
		"Subject: Grüße aus Köln – 東京\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Schöne Grüße, ça va ? 日本語のテキスト\r\n",
	"folded": "From: Alice\r\n <alice@example.org>\r\n" +
		"To: bob@example.net,\r\n\tcarol@example.net,\r\n  dave@example.net\r\n" +
		"Subject:   a   long subject\r\n that goes on \t and on\r\n" +
		"Subject-Like: not signed\r\n" +
		"References: <a@example.org>\r\n <b@example.org>\r\n" +
		"In-Reply-To: <b@example.org>\r\n" +
		"\r\n" +
		"Body with trailing blanks   \r\n" +
		"\r\n\r\n",
	"no-final-crlf": "From: alice@example.org\r\n" +
		"Subject: no newline\r\n" +
		"\r\n" +
		"the last line has no CRLF",
	"lf-only": "From: alice@example.org\n" +
		"Subject: written on Unix\n" +
		"\n" +
		"line one\nline two\n",
	"header-only": "From: alice@example.org\r\n" +
		"Subject: nothing more\r\n",
	"list": "Received: from a.example.net by b.example.org; Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"Resent-From: forwarder@example.org\r\n" +
		"Resent-Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n" +
		"Resent-From: second@example.org\r\n" +
		"From: news@example.org\r\n" +
		"List-Id: News <news.example.org>\r\n" +
		"List-Unsubscribe: <https://example.org/u/1>\r\n" +
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" +
		"subject: lower-case names\r\n" +
		"\r\n" +
		"News.\r\n",
}

func TestSign_VerifiesWithGoMsgauth(t *testing.T) {
	keys := signingKeys(t)
	recs := records(t)
	for name, raw := range messages {
		t.Run(name, func(t *testing.T) {
			before := time.Now().Unix()
			signed, err := dkim.Sign([]byte(raw), keys)
			if err != nil {
				t.Fatal(err)
			}
			vs := goVerify(t, recs, signed)
			if len(vs) != 2 {
				t.Fatalf("%d signatures, want 2", len(vs))
			}
			for _, v := range vs {
				if v.Err != nil {
					t.Errorf("signature of %s: %v", v.Domain, v.Err)
				}
			}

			// The tags Lightr promises: the algorithms in order, relaxed,
			// the whole body (no l=), t= now, From signed and over-signed.
			for i, tags := range sigTags(t, signed) {
				want := []string{"rsa-sha256", "ed25519-sha256"}[i]
				if tags["a"] != want || tags["c"] != "relaxed/relaxed" || tags["d"] != testDomain {
					t.Errorf("signature %d: a=%s c=%s d=%s", i, tags["a"], tags["c"], tags["d"])
				}
				if _, ok := tags["l"]; ok {
					t.Errorf("signature %d has l=%s", i, tags["l"])
				}
				if ts, err := strconv.ParseInt(tags["t"], 10, 64); err != nil || ts < before ||
					ts > time.Now().Unix() {
					t.Errorf("signature %d: t=%s, want the time of signing", i, tags["t"])
				}
				if n := countField(tags["h"], "From"); n != 2 {
					t.Errorf("signature %d: h=%s lists From %d times, want 2", i, tags["h"], n)
				}
			}
		})
	}
}

func TestSign_VerifiesWithPythonDKIM(t *testing.T) {
	keys := signingKeys(t)
	msgs := map[string][]byte{}
	for name, raw := range messages {
		signed, err := dkim.Sign([]byte(raw), keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		msgs[name] = signed
	}
	for name, got := range pyVerify(t, records(t), msgs) {
		if len(got) != 2 || got[0] != "pass" || got[1] != "pass" {
			t.Errorf("%s: python3-dkim says %q, want pass for rsa-sha256 and ed25519-sha256", name, got)
		}
	}
}

func TestSign_MessageForm(t *testing.T) {
	keys := signingKeys(t)
	for name, want := range map[string]string{
		"plain":         messages["plain"],
		"no-final-crlf": messages["no-final-crlf"] + "\r\n",
		"lf-only":       strings.ReplaceAll(messages["lf-only"], "\n", "\r\n"),
		"header-only":   messages["header-only"] + "\r\n",
	} {
		signed, err := dkim.Sign([]byte(messages[name]), keys)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) {
			t.Errorf("%s: the signature is not the first field", name)
		}
		if !bytes.HasSuffix(signed, []byte("\r\n"+want)) {
			t.Errorf("%s: signed message does not end in the message as it must be sent:\n%q", name, signed)
		}
	}
}

// TestSign_Tampered changes signed messages the ways a forger would, and
// the ways relays do, and checks both verifiers agree on each.
func TestSign_Tampered(t *testing.T) {
	signed, err := dkim.Sign([]byte(messages["plain"]), signingKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(signed)
	cases := []struct {
		name string
		msg  string
		pass bool
	}{
		{"body", strings.Replace(s, "Noon", "Nine", 1), false},
		{"appended body", s + "P.S. send money\r\n", false},
		{"subject", strings.Replace(s, "Subject: Lunch", "Subject: Lunch!", 1), false},
		{"second from", "From: mallory@example.com\r\n" + s, false},
		{"second subject", "Subject: Urgent\r\n" + s, false},
		// What relaxed canonicalization forgives (RFC 6376 §3.4.2, §3.4.4).
		{"received", "Received: from relay.example.net\r\n" + s, true},
		{"header case and space", strings.Replace(s, "Subject: Lunch", "SUBJECT:   Lunch  ", 1), true},
		{"body space", strings.Replace(s, "at the usual", "at  the usual", 1), true},
	}
	recs := records(t)
	py := map[string][]byte{}
	for _, c := range cases {
		py[c.name] = []byte(c.msg)
		for _, v := range goVerify(t, recs, []byte(c.msg)) {
			if (v.Err == nil) != c.pass {
				t.Errorf("%s: go-msgauth says %v, want pass=%v", c.name, v.Err, c.pass)
			}
		}
	}
	res := pyVerify(t, recs, py)
	for _, c := range cases {
		got := res[c.name]
		if len(got) != 2 {
			t.Fatalf("%s: python3-dkim checked %d signatures", c.name, len(got))
		}
		for _, r := range got {
			if (r == "pass") != c.pass {
				t.Errorf("%s: python3-dkim says %q, want pass=%v", c.name, r, c.pass)
			}
		}
	}
}

func TestSign_Errors(t *testing.T) {
	keys := signingKeys(t)
	ed := edSigner(t)
	cases := []struct {
		name string
		msg  string
		keys []dkim.SigningKey
		want error
	}{
		{"no keys", messages["plain"], nil, dkim.ErrNoKey},
		{"no from", "To: bob@example.net\r\n\r\nhi\r\n", keys, dkim.ErrMalformed},
		{"empty", "", keys, dkim.ErrMalformed},
		{"bare cr", "From: a@example.org\r\nSubject: a\rb\r\n\r\nhi\r\n", keys, dkim.ErrMalformed},
		{"not a field", "From: a@example.org\r\nnot a field\r\n\r\nhi\r\n", keys, dkim.ErrMalformed},
		{"continuation first", " x\r\nFrom: a@example.org\r\n\r\nhi\r\n", keys, dkim.ErrMalformed},
		{"zero key", messages["plain"], []dkim.SigningKey{keys[0], {}}, dkim.ErrUnsupported},
		{"wrong algorithm", messages["plain"],
			[]dkim.SigningKey{dkim.KeyWithSigner(testDomain, "s", dkim.RSA, ed)}, dkim.ErrUnsupported},
		{"bad selector", messages["plain"],
			[]dkim.SigningKey{dkim.KeyWithSigner(testDomain, "a;b", dkim.Ed25519, ed)},
			dkim.ErrUnsupported},
		{"signer fails", messages["plain"],
			[]dkim.SigningKey{keys[0], dkim.KeyWithSigner(testDomain, "s", dkim.Ed25519, failing{ed})},
			errHSM},
	}
	for _, c := range cases {
		out, err := dkim.Sign([]byte(c.msg), c.keys)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if out != nil {
			t.Errorf("%s: returned a message with the error", c.name)
		}
	}
}

func TestNewSigningKey_Refuses(t *testing.T) {
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dkim.NewSigningKey(testDomain, "s", dkim.RSA, []byte("not DER")); err == nil {
		t.Error("garbage DER accepted")
	}
	_, err = dkim.NewSigningKey(testDomain, "s", dkim.RSA, keys[dkim.Ed25519].PrivateDER)
	if !errors.Is(err, dkim.ErrUnsupported) {
		t.Errorf("Ed25519 key stored as rsa: %v", err)
	}
	_, err = dkim.NewSigningKey("", "s", dkim.Ed25519, keys[dkim.Ed25519].PrivateDER)
	if !errors.Is(err, dkim.ErrUnsupported) {
		t.Errorf("empty domain: %v", err)
	}
}

func TestSigningKey_Redacted(t *testing.T) {
	k := signingKeys(t)[0]
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	secret := base64.StdEncoding.EncodeToString(keys[dkim.RSA].PrivateDER)[:40]

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("signing", "key", k)
	want := `"key":{"domain":"example.org","selector":"lr2026","algorithm":"rsa"}`
	if !strings.Contains(logged.String(), want) {
		t.Errorf("slog: %s, want %s", logged.String(), want)
	}
	outputs := []string{logged.String(), fmt.Sprint(k), fmt.Sprintf("%+v %#v %s", k, k, []dkim.SigningKey{k})}
	for _, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, "signer") || longNumber.MatchString(out) {
			t.Errorf("private key in output: %s", out)
		}
	}
}

// longNumber matches the decimal digits of an RSA key's numbers.
var longNumber = regexp.MustCompile(`\d{30}`)

// errHSM is what the failing signer returns.
var errHSM = errors.New("hsm unplugged")

// failing is a signer whose every signature fails.
type failing struct{ crypto.Signer }

func (failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, errHSM }

// edSigner returns the Ed25519 test key as a crypto.Signer.
func edSigner(t testing.TB) crypto.Signer {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dkim.ParsePrivate(keys[dkim.Ed25519].PrivateDER)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// BenchmarkSign_RSA2048 signs a 4 KiB message with one RSA-2048 key, the
// default for every outbound message.
func BenchmarkSign_RSA2048(b *testing.B) {
	key := signingKeys(b)[:1]
	var msg bytes.Buffer
	msg.WriteString("From: alice@example.org\r\nTo: bob@example.net\r\nSubject: bench\r\n" +
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <b@example.org>\r\n\r\n")
	for msg.Len() < 4096 {
		msg.WriteString("All work and no play makes a DKIM signer a dull signer, line after line.\r\n")
	}
	raw := msg.Bytes()[:4094:4094]
	raw = append(raw, '\r', '\n')
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dkim.Sign(raw, key); err != nil {
			b.Fatal(err)
		}
	}
}
