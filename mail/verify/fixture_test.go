package verify_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/lightr-mail/lightr/mail/resolver"
	"github.com/lightr-mail/lightr/mail/resolver/resolvertest"
	"github.com/lightr-mail/lightr/mail/verify"
)

// authServID is the host name the test Verifier writes in its header.
const authServID = "mx.lightr.test"

// testKeys are generated once per test binary: an RSA key takes a while.
var testKeys struct {
	once sync.Once
	rsa  *rsa.PrivateKey
	ed   ed25519.PrivateKey
	err  error
}

// keys returns the test's RSA and Ed25519 keys.
func keys(tb testing.TB) (*rsa.PrivateKey, ed25519.PrivateKey) {
	tb.Helper()
	testKeys.once.Do(func() {
		testKeys.rsa, testKeys.err = rsa.GenerateKey(rand.Reader, 2048)
		if testKeys.err == nil {
			_, testKeys.ed, testKeys.err = ed25519.GenerateKey(rand.Reader)
		}
	})
	if testKeys.err != nil {
		tb.Fatalf("generate keys: %v", testKeys.err)
	}
	return testKeys.rsa, testKeys.ed
}

// fixture is a DNS server with the test zones and a Verifier that asks it.
type fixture struct {
	srv *resolvertest.Server
	v   *verify.Verifier
}

// newFixture serves these zones:
//
//	example.com          SPF 127.0.0.1 -all, DKIM rsa and ed, DMARC p=reject sp=quarantine
//	mail.example.com     SPF 127.0.0.1 -all (a bounce subdomain), no DMARC
//	mx.example.com       SPF 127.0.0.1 -all (a HELO name)
//	other.example.net    SPF 127.0.0.1 -all, no DMARC (an unaligned envelope)
//	soft.example.net     SPF 127.0.0.2 ~all, DMARC p=quarantine
//	strict.example.org   DMARC p=reject aspf=s adkim=s; mail.strict.example.org SPF pass
//	pct.example.org      SPF 127.0.0.1 -all, DMARC p=reject pct=50
//	broken.example.com   SERVFAIL for everything, _dmarc and selector "broken" included
//	norecords.example.org nothing at all
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	rsaKey, edKey := keys(tb)
	srv := resolvertest.Start(tb)

	spfPass := "v=spf1 ip4:127.0.0.1 -all"
	for _, name := range []string{
		"example.com", "mail.example.com", "mx.example.com", "other.example.net",
		"mail.strict.example.org", "pct.example.org",
	} {
		srv.AddTXT(name, 300, spfPass)
	}
	srv.AddTXT("soft.example.net", 300, "v=spf1 ip4:127.0.0.2 ~all")

	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	srv.AddTXT("rsa._domainkey.example.com", 300,
		"v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(rsaDER))
	edPub := edKey.Public().(ed25519.PublicKey)
	srv.AddTXT("ed._domainkey.example.com", 300,
		"v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edPub))

	srv.AddTXT("_dmarc.example.com", 300, "v=DMARC1; p=reject; sp=quarantine")
	srv.AddTXT("_dmarc.soft.example.net", 300, "v=DMARC1; p=quarantine")
	srv.AddTXT("_dmarc.strict.example.org", 300, "v=DMARC1; p=reject; aspf=s; adkim=s")
	srv.AddTXT("_dmarc.pct.example.org", 300, "v=DMARC1; p=reject; pct=50")
	for _, name := range []string{
		"broken.example.com", "_dmarc.broken.example.com", "broken._domainkey.example.com",
	} {
		srv.Fail(name, dns.RcodeServerFailure)
	}

	r, err := resolver.New(resolver.Options{Server: srv.Addr, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{srv: srv, v: &verify.Verifier{Resolver: r, AuthServID: authServID}}
}

// message builds a message with CRLF line endings. from is the whole value
// of the From field; an empty from leaves the field out.
func message(from, body string) []byte {
	var b strings.Builder
	if from != "" {
		b.WriteString("From: " + from + "\r\n")
	}
	b.WriteString("To: rcpt@lightr.test\r\n")
	b.WriteString("Subject: Test message\r\n")
	b.WriteString("Date: Mon, 06 Jan 2025 10:00:00 +0000\r\n")
	b.WriteString("Message-ID: <test@example.com>\r\n")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// signedHeaders are the fields every test signature covers (RFC 6376 §5.4.1).
var signedHeaders = []string{"From", "To", "Subject", "Date", "Message-ID"}

// signGo signs raw with go-msgauth and returns the signed message.
func signGo(tb testing.TB, raw []byte, domain, selector string, key crypto.Signer) []byte {
	tb.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(raw), &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		tb.Fatalf("dkim.Sign: %v", err)
	}
	return out.Bytes()
}

// debianPython is Debian's python, which has python3-dkim when it is
// installed; the python3 first on PATH may be another one.
const debianPython = "/usr/bin/python3"

// pythonSigner is the script that signs stdin with dkimpy.
const pythonSigner = `
import sys, dkim
selector, domain, keyfile, algorithm = sys.argv[1:5]
message = sys.stdin.buffer.read()
with open(keyfile, "rb") as f:
    key = f.read()
sig = dkim.sign(message, selector.encode(), domain.encode(), key,
    canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=algorithm.encode(),
    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig)
`

// signPython signs raw with python3-dkim (dkimpy), skipping the test when
// it is not installed.
func signPython(tb testing.TB, raw []byte, domain, selector string, key crypto.Signer) []byte {
	tb.Helper()
	if err := exec.Command(debianPython, "-c", "import dkim, nacl").Run(); err != nil {
		tb.Skipf("python3-dkim not available (%v): apt-get install python3-dkim", err)
	}

	var keyText []byte
	algorithm := "rsa-sha256"
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		keyText = pem.EncodeToMemory(block)
	case ed25519.PrivateKey:
		// dkimpy takes an Ed25519 key as the base64 of its 32-byte seed.
		keyText = []byte(base64.StdEncoding.EncodeToString(k.Seed()))
		algorithm = "ed25519-sha256"
	default:
		tb.Fatalf("unsupported key %T", key)
	}
	keyFile := filepath.Join(tb.TempDir(), "key")
	if err := os.WriteFile(keyFile, keyText, 0o600); err != nil {
		tb.Fatal(err)
	}

	cmd := exec.Command(debianPython, "-c", pythonSigner, selector, domain, keyFile, algorithm)
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	sig, err := cmd.Output()
	if err != nil || len(sig) == 0 {
		tb.Fatalf("dkimpy: %v: %s", err, stderr.String())
	}
	return append(sig, raw...)
}
