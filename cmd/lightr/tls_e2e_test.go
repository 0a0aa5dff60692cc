package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightr-mail/lightr/server/certs"
)

// TestCLI_DomainTLS sets a hosted domain's certificate with domain-tls and
// checks with swaks, a real client, that STARTTLS serves it to SNI names
// at and under the domain, and the default certificate to others.
func TestCLI_DomainTLS(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatal("swaks is needed for this test (bash .ci/run installs it)")
	}
	c := newCLI(t)
	c.env = append(c.env, "LIGHTR_HTTP_ADDR=127.0.0.1:0")
	c.ok("", "init")
	org := c.ok("", "add-org", "--name", "Acme")
	dom := c.ok("", "add-domain", "--org", org, "--name", "acme.test")

	files := t.TempDir()
	gen := func(name string, hosts ...string) (certFile, keyFile string) {
		t.Helper()
		certFile, keyFile = filepath.Join(files, name+".crt"), filepath.Join(files, name+".key")
		if err := certs.GenerateSelfSigned(certFile, keyFile, hosts); err != nil {
			t.Fatal(err)
		}
		return certFile, keyFile
	}
	acmeCert, acmeKey := gen("acme", "acme.test", "*.acme.test")
	otherCert, otherKey := gen("other", "other.test")

	// Pairs that could never serve acme.test are refused, and nothing is
	// stored.
	for name, args := range map[string][]string{
		"private key does not match": {"--cert", acmeCert, "--key", otherKey},
		"does not cover the domain":  {"--cert", otherCert, "--key", otherKey},
		"no such file":               {"--cert", acmeCert, "--key", filepath.Join(files, "none")},
		"if any flags in the group":  {"--cert", acmeCert},
	} {
		args = append([]string{"domain-tls", "--domain", "acme.test"}, args...)
		if _, errs, code := c.run("", args...); code == 0 || !strings.Contains(errs, name) {
			t.Errorf("%v: exit %d, stderr %q; want a refusal saying %q", args, code, errs, name)
		}
	}
	if f := domainTLSFiles(t, c); f != [2]string{} {
		t.Fatalf("a refused pair was stored: %v", f)
	}

	// Set, clear and set again, with a relative path stored absolute.
	c.ok("", "domain-tls", "--domain", dom, "--cert", acmeCert, "--key", acmeKey)
	if out := c.ok("", "domain-tls", "--domain", "acme.test", "--clear"); out != dom {
		t.Fatalf("domain-tls --clear printed %q, want the domain id", out)
	}
	if f := domainTLSFiles(t, c); f != [2]string{} {
		t.Fatalf("--clear left %v", f)
	}
	if err := os.Rename(acmeKey, filepath.Join(c.dir, "acme.key")); err != nil {
		t.Fatal(err)
	}
	acmeKey = filepath.Join(c.dir, "acme.key")
	out := c.ok("", "domain-tls", "--domain", "ACME.test", "--cert", acmeCert, "--key", "acme.key")
	if out != dom {
		t.Fatalf("domain-tls printed %q, want the domain id", out)
	}
	if f := domainTLSFiles(t, c); f != [2]string{acmeCert, acmeKey} {
		t.Fatalf("stored %v, want %s and %s", f, acmeCert, acmeKey)
	}

	c.serve(nil)
	acme := certSerial(t, acmeCert)
	def := certSerial(t, filepath.Join(c.dir, "data", "tls", "cert.pem"))
	for sni, want := range map[string]string{
		"acme.test":       acme,
		"mx.acme.test":    acme,
		"other.example":   def,
		"mx.notacme.test": def,
	} {
		if got := starttlsSerial(t, c.smtpAddr, sni); got != want {
			t.Errorf("SNI %s: served serial %s, want %s (acme %s, default %s)",
				sni, got, want, acme, def)
		}
	}
}

// domainTLSFiles returns acme.test's certificate files as list-domains
// --json shows them.
func domainTLSFiles(t *testing.T, c *cli) [2]string {
	t.Helper()
	var ds []struct {
		Name     string `json:"name"`
		CertFile string `json:"tls_cert_file"`
		KeyFile  string `json:"tls_key_file"`
	}
	out := c.ok("", "list-domains", "--json")
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 1 {
		t.Fatalf("list-domains --json printed %q: %v", out, err)
	}
	return [2]string{ds[0].CertFile, ds[0].KeyFile}
}

// starttlsSerial has swaks say EHLO and STARTTLS to addr with SNI name,
// and returns the serial number of the certificate the server presented.
func starttlsSerial(t *testing.T, addr, sni string) string {
	t.Helper()
	peerFile := filepath.Join(t.TempDir(), "peer.pem")
	out, err := exec.Command("swaks", "--server", addr, "--timeout", "20",
		"--helo", "client.example.org", "--tls", "--tls-sni", sni,
		"--tls-get-peer-cert", peerFile, "--quit-after", "TLS").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks STARTTLS with SNI %s: %v\n%s", sni, err, out)
	}
	return certSerial(t, peerFile)
}

func certSerial(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM certificate: %q", file, b)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber.String()
}
