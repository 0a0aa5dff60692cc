package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
)

// ErrNotCovered is returned by CheckPair when the certificate names
// neither the domain nor any host under it.
var ErrNotCovered = errors.New("certs: certificate does not cover the domain")

// CheckPair loads the key pair at certFile and keyFile, as a handshake
// would, and checks that the certificate covers domain or a host under it
// (mx.example.com under example.com): the Store only serves a domain's
// pair to SNI names at or under the domain, so a certificate for none of
// them could never be valid where it is served. It returns the leaf
// certificate.
func CheckPair(certFile, keyFile, domain string) (*x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s and %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certs: parse %s: %w", certFile, err)
		}
	}
	if !covers(leaf, domain) {
		return nil, fmt.Errorf("%w: %s names %s, not %s or a host under it",
			ErrNotCovered, certFile, strings.Join(leaf.DNSNames, ", "), domain)
	}
	return leaf, nil
}

// covers reports whether leaf is valid for domain itself or names a host
// under it. Only the DNS names count: the common name is ignored by
// verifiers since RFC 6125 §6.4.4, and by Go's since 1.15.
func covers(leaf *x509.Certificate, domain string) bool {
	if leaf.VerifyHostname(domain) == nil {
		return true
	}
	for _, n := range leaf.DNSNames {
		if strings.HasSuffix(strings.ToLower(strings.TrimSuffix(n, ".")), "."+domain) {
			return true
		}
	}
	return false
}

// SetDomainFiles makes d serve the key pair at certFile and keyFile to
// SNI names at or under it, after CheckPair accepts them. The paths are
// stored absolute, so that they mean the same to a server started in
// another directory; symbolic links are kept, so that a renewal that
// moves a link is followed. It is for the server admin only: a tenant
// must never choose which server files are read. It returns the updated
// domain and the leaf certificate. A running Store sees the change within
// a minute.
func SetDomainFiles(ctx context.Context, c *ent.Client, d *ent.Domain,
	certFile, keyFile string) (*ent.Domain, *x509.Certificate, error) {
	if !viewer.FromContext(ctx).Admin() {
		return nil, nil, errAdminOnly
	}
	certAbs, err := filepath.Abs(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	keyAbs, err := filepath.Abs(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	leaf, err := CheckPair(certAbs, keyAbs, d.Name)
	if err != nil {
		return nil, nil, err
	}
	updated, err := c.Domain.UpdateOneID(d.ID).
		SetTLSCertFile(certAbs).
		SetTLSKeyFile(keyAbs).
		Save(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: set files of %s: %w", d.Name, err)
	}
	return updated, leaf, nil
}

// ClearDomainFiles makes d serve the default certificate again and
// returns the updated domain. It is for the server admin only, like
// SetDomainFiles.
func ClearDomainFiles(ctx context.Context, c *ent.Client, d *ent.Domain) (*ent.Domain, error) {
	if !viewer.FromContext(ctx).Admin() {
		return nil, errAdminOnly
	}
	updated, err := c.Domain.UpdateOneID(d.ID).ClearTLSCertFile().ClearTLSKeyFile().Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("certs: clear files of %s: %w", d.Name, err)
	}
	return updated, nil
}

// errAdminOnly refuses a tenant: the files are read with the server's
// rights, so only the operator may name them.
var errAdminOnly = privacy.Denyf("certs: certificate files are for the server admin")
