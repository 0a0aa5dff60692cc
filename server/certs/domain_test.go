package certs_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/server/certs"
)

func TestSetDomainFiles_Accepts(t *testing.T) {
	f := newFixture(t)
	addr := f.serve()
	for _, tc := range []struct {
		domain string
		hosts  []string
	}{
		{"acme.test", []string{"acme.test"}},
		{"mx.test", []string{"mx.mx.test"}}, // a host under the domain
		{"wild.test", []string{"*.wild.test"}},
		{"sub.parent.test", []string{"*.parent.test"}},
		{"upper.test", []string{"MAIL.Upper.Test"}},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			d := f.domain(tc.domain, "", "")
			p := f.pair(tc.domain, tc.hosts...)

			// Relative paths are stored absolute.
			t.Chdir(f.dir)
			got, leaf, err := certs.SetDomainFiles(adminCtx(), f.client, d,
				filepath.Base(p.cert), filepath.Base(p.key))
			if err != nil {
				t.Fatal(err)
			}
			if got.TLSCertFile != p.cert || got.TLSKeyFile != p.key {
				t.Errorf("stored %q, %q; want %q, %q", got.TLSCertFile, got.TLSKeyFile, p.cert, p.key)
			}
			if !p.is(leaf) {
				t.Error("the returned leaf is not the certificate set")
			}
			if c := peer(t, addr, "mail."+tc.domain); !p.is(c) {
				t.Errorf("served %v", c.DNSNames)
			}
		})
	}
}

func TestSetDomainFiles_Refuses(t *testing.T) {
	f := newFixture(t)
	acme := f.pair("acme", "acme.test")
	other := f.pair("other", "other.test", "mx.notacme.test")
	d := f.domain("acme.test", "", "")
	tenant := viewer.NewContext(context.Background(), &viewer.Viewer{
		Kind: viewer.KindOrg, OrgID: f.org.ID, Scopes: viewer.TenantScopes})

	for _, tc := range []struct {
		name      string
		ctx       context.Context
		cert, key string
		is        error
	}{
		{"key of another certificate", adminCtx(), acme.cert, other.key, nil},
		{"missing file", adminCtx(), acme.cert, filepath.Join(f.dir, "none.key"), nil},
		{"not covering the domain", adminCtx(), other.cert, other.key, certs.ErrNotCovered},
		{"tenant", tenant, acme.cert, acme.key, privacy.Deny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := certs.SetDomainFiles(tc.ctx, f.client, d, tc.cert, tc.key)
			if err == nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want a refusal (%v)", err, tc.is)
			}
			got, err := f.client.Domain.Get(adminCtx(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.TLSCertFile != "" || got.TLSKeyFile != "" {
				t.Errorf("a refused pair was stored: %q, %q", got.TLSCertFile, got.TLSKeyFile)
			}
		})
	}

	if _, err := certs.ClearDomainFiles(tenant, f.client, d); !errors.Is(err, privacy.Deny) {
		t.Errorf("a tenant cleared the files: %v", err)
	}
}
