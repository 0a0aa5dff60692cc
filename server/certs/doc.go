// Package certs chooses the TLS certificate of each handshake on Lightr's
// mail listeners. A client names the host it wants with SNI; when that host
// is a hosted domain, or a host under one (mx.example.com under
// example.com), and the domain has its own certificate files, those are
// served. Every other handshake gets the server's default certificate,
// which `lightr init` creates self-signed when the operator has none.
// The operator names a domain's files with `lightr domain-tls`
// (SetDomainFiles); tenants cannot, since the server reads them.
//
// Certificate files are re-read when they change on disk, so a renewal
// (by certbot or an ACME client) needs no restart.
package certs
