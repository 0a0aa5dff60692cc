package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/certs"
	"github.com/lightr-mail/lightr/server/db"
)

// fixture is a Store over a fresh database with one organization, whose
// default certificate is for mx.lightr.test, on a clock the test moves.
type fixture struct {
	t      testing.TB
	dir    string
	client *ent.Client
	org    *ent.Organization
	store  *certs.Store
	clock  *clock
	def    pair
}

// pair is a certificate and key on disk, and the certificate's serial.
type pair struct {
	cert, key string
	serial    *big.Int
}

// clock is a time that runs with the wall clock plus an offset the test
// advances; it is read by concurrent handshakes.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time            { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration)   { c.offset.Add(int64(d)) }
func adminCtx() context.Context            { return viewer.AdminContext(context.Background()) }
func (p pair) is(c *x509.Certificate) bool { return c.SerialNumber.Cmp(p.serial) == 0 }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(context.Background(), db.Options{Path: filepath.Join(dir, "lightr.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	f := &fixture{t: t, dir: dir, client: d.Client, clock: &clock{}}
	if f.org, err = d.Client.Organization.Create().SetName("acme").Save(adminCtx()); err != nil {
		t.Fatal(err)
	}
	f.def = f.pair("default", "mx.lightr.test")
	if f.store, err = certs.New(d.Client, f.def.cert, f.def.key); err != nil {
		t.Fatal(err)
	}
	certs.SetClock(f.store, f.clock.now)
	return f
}

// pair writes a new self-signed pair for hosts under the file name base.
func (f *fixture) pair(base string, hosts ...string) pair {
	f.t.Helper()
	p := pair{cert: filepath.Join(f.dir, base+".crt"), key: filepath.Join(f.dir, base+".key")}
	if err := certs.GenerateSelfSigned(p.cert, p.key, hosts); err != nil {
		f.t.Fatal(err)
	}
	p.serial = parseCert(f.t, p.cert).SerialNumber
	return p
}

func parseCert(t testing.TB, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// domain adds a hosted domain and writes certFile and keyFile into its row
// as they are, unchecked, the way a file can go bad after it was set.
func (f *fixture) domain(name, certFile, keyFile string) *ent.Domain {
	f.t.Helper()
	d, err := directory.CreateDomain(adminCtx(), f.client, &f.org.ID, ent.CreateDomainInput{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	if certFile != "" || keyFile != "" {
		f.setFiles(d, certFile, keyFile)
	}
	return d
}

func (f *fixture) setFiles(d *ent.Domain, certFile, keyFile string) {
	f.t.Helper()
	err := f.client.Domain.UpdateOne(d).SetTLSCertFile(certFile).SetTLSKeyFile(keyFile).Exec(adminCtx())
	if err != nil {
		f.t.Fatal(err)
	}
}

// serve runs a TLS listener on loopback with the Store's configuration
// and returns its address.
func (f *fixture) serve() string {
	f.t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.store.TLSConfig())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = io.Copy(io.Discard, c) // until the client closes
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// peer makes a real handshake with addr, sending sni (none when empty),
// and returns the certificate the server presented.
func peer(t testing.TB, addr, sni string) *x509.Certificate {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	//nolint:gosec // the test identifies self-signed certificates by serial
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake with SNI %q: %v", sni, err)
	}
	defer func() { _ = c.Close() }()
	return c.ConnectionState().PeerCertificates[0]
}

func TestStore_ServesBySNI(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test", "*.acme.test")
	eu := f.pair("eu", "eu.acme.test", "*.eu.acme.test")
	garbage := filepath.Join(f.dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.domain("acme.test", acme.cert, acme.key)
	f.domain("eu.acme.test", eu.cert, eu.key)
	f.domain("half.acme.test", eu.cert, "") // a key is missing: not a pair
	f.domain("other.test", "", "")
	f.domain("broken.test", garbage, garbage)
	f.domain("missing.test", filepath.Join(f.dir, "gone.crt"), filepath.Join(f.dir, "gone.key"))
	f.domain("mismatch.test", acme.cert, eu.key)
	addr := f.serve()

	for _, tc := range []struct {
		sni  string
		want pair
		name string
	}{
		{"acme.test", acme, "acme"},
		{"mx.acme.test", acme, "acme"},
		{"MX.Acme.Test", acme, "acme"},
		{"a.b.c.acme.test", acme, "acme"},
		{"eu.acme.test", eu, "eu"},
		{"mx.eu.acme.test", eu, "eu"},
		{"half.acme.test", acme, "acme"},
		{"mx.half.acme.test", acme, "acme"},
		{"notacme.test", f.def, "default"},
		{"other.test", f.def, "default"},
		{"mx.other.test", f.def, "default"},
		{"unknown.example", f.def, "default"},
		{"localhost", f.def, "default"},
		{"", f.def, "default"},
		{"broken.test", f.def, "default"},
		{"mx.missing.test", f.def, "default"},
		{"mismatch.test", f.def, "default"},
	} {
		t.Run(tc.sni, func(t *testing.T) {
			if got := peer(t, addr, tc.sni); !tc.want.is(got) {
				t.Errorf("SNI %q got the certificate for %v, want %s's", tc.sni, got.DNSNames, tc.name)
			}
		})
	}
}

func TestStore_ReloadsChangedFiles(t *testing.T) {
	f := newFixture(t)
	old := f.pair("acme", "acme.test")
	f.domain("acme.test", old.cert, old.key)
	addr := f.serve()
	if got := peer(t, addr, "acme.test"); !old.is(got) {
		t.Fatal("the domain's certificate was not served")
	}

	// A renewal: new files moved over the old ones, with a later mtime in
	// case the file system's clock is coarse. The default pair is renewed
	// too.
	renew := func(p pair, base string, hosts ...string) pair {
		t.Helper()
		n := f.pair(base, hosts...)
		later := time.Now().Add(time.Hour)
		for from, to := range map[string]string{n.cert: p.cert, n.key: p.key} {
			if err := os.Chtimes(from, later, later); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(from, to); err != nil {
				t.Fatal(err)
			}
		}
		return pair{cert: p.cert, key: p.key, serial: n.serial}
	}
	renewed := renew(old, "acme-new", "acme.test")
	renewedDef := renew(f.def, "default-new", "mx.lightr.test")

	// Files are stat'ed at most every five seconds...
	f.clock.advance(4 * time.Second)
	if got := peer(t, addr, "acme.test"); !old.is(got) {
		t.Error("the files were re-read before five seconds passed")
	}
	// ...and after that the new pair is served without a restart.
	f.clock.advance(2 * time.Second)
	if got := peer(t, addr, "acme.test"); !renewed.is(got) {
		t.Error("the renewed domain certificate was not picked up")
	}
	if got := peer(t, addr, ""); !renewedDef.is(got) {
		t.Error("the renewed default certificate was not picked up")
	}
}

func TestStore_SeesDomainChangesWithinAMinute(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test")
	d := f.domain("acme.test", "", "")
	addr := f.serve()
	if got := peer(t, addr, "mx.acme.test"); !f.def.is(got) {
		t.Fatal("a domain without files did not get the default certificate")
	}

	f.setFiles(d, acme.cert, acme.key)
	if got := peer(t, addr, "mx.acme.test"); !f.def.is(got) {
		t.Error("the SNI answer was not cached")
	}
	f.clock.advance(61 * time.Second)
	if got := peer(t, addr, "mx.acme.test"); !acme.is(got) {
		t.Fatal("new files were not served a minute later")
	}

	if _, err := certs.ClearDomainFiles(adminCtx(), f.client, d); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(61 * time.Second)
	if got := peer(t, addr, "mx.acme.test"); !f.def.is(got) {
		t.Error("cleared files were still served a minute later")
	}
}

// A failed lookup must not be cached: the next handshake asks again.
func TestStore_FailedLookupNotCached(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test")
	f.domain("acme.test", acme.cert, acme.key)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, _ := certs.FilesFor(f.store, ctx, "acme.test"); c != "" {
		t.Fatalf("a canceled lookup found %q", c)
	}
	c, k := certs.FilesFor(f.store, context.Background(), "acme.test")
	if c != acme.cert || k != acme.key {
		t.Errorf("after a failed lookup: %q, %q; want the domain's files", c, k)
	}
}

func TestStore_SNICacheBounded(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test")
	f.domain("acme.test", acme.cert, acme.key)

	// Names without a dot are never hosted, so this is quick: no query.
	for i := range certs.MaxNames + 100 {
		c, err := f.store.GetCertificate(&tls.ClientHelloInfo{ServerName: fmt.Sprintf("h%d", i)})
		if err != nil || !f.def.is(c.Leaf) {
			t.Fatalf("name %d: %v", i, err)
		}
		if n := certs.CachedNames(f.store); n > certs.MaxNames {
			t.Fatalf("the SNI cache holds %d names, more than %d", n, certs.MaxNames)
		}
	}
	if got := peer(t, f.serve(), "acme.test"); !acme.is(got) {
		t.Error("after the cache was emptied the domain's certificate was not served")
	}
}

// Handshakes run concurrently and re-check files while others read the
// cache; go test -race checks the Store's locking.
func TestStore_ConcurrentHandshakes(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test")
	f.domain("acme.test", acme.cert, acme.key)

	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if g == 0 && i%3 == 0 {
					f.clock.advance(6 * time.Second)
				}
				name := []string{"acme.test", "mx.acme.test", "", "other.test"}[(g+i)%4]
				c, err := f.store.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
				if err != nil {
					t.Errorf("%q: %v", name, err)
					return
				}
				want := f.def
				if name != "" && name != "other.test" {
					want = acme
				}
				if !want.is(c.Leaf) {
					t.Errorf("%q got %v", name, c.Leaf.DNSNames)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNew_RefusesBrokenDefault(t *testing.T) {
	dir := t.TempDir()
	_, err := certs.New(nil, filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key"))
	if err == nil {
		t.Error("a missing default pair was accepted")
	}
}
