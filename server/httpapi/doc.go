// Package httpapi serves Lightr's HTTP surface: the GraphQL endpoint (and
// its GraphiQL page), the JWKS of the token signing keys, health and
// readiness probes, and Prometheus metrics.
//
// A request's credential is turned into a viewer here, once, by the shared
// access.Authenticator; everything past that point is guarded by the data
// layer's privacy rules, not by this package.
package httpapi
