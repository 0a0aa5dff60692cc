package resolver

import (
	"context"
	"errors"
	"net"
)

// The sentinel errors below are what the *net.DNSError returned by a lookup
// unwraps to, so callers that need more than IsNotFound and IsTemporary can
// tell the cases apart with errors.Is.
var (
	// ErrNXDomain means the name does not exist (RCODE 3, RFC 1035 §4.1.1).
	ErrNXDomain = errors.New("resolver: no such domain")

	// ErrNoData means the name exists but has no records of the type asked
	// for (NODATA, RFC 2308 §2.2).
	ErrNoData = errors.New("resolver: no records of the requested type")

	// ErrServerFailure means the server answered with an error code other
	// than NXDOMAIN: SERVFAIL, REFUSED, NOTIMP or FORMERR.
	ErrServerFailure = errors.New("resolver: server failure")

	// ErrBadResponse means an answer did not match its question or could
	// not be used.
	ErrBadResponse = errors.New("resolver: malformed response")

	// ErrInvalidName means the name asked for is not a valid domain name.
	ErrInvalidName = errors.New("resolver: invalid domain name")

	// ErrInvalidAddress means LookupAddr was given something that is not an
	// IP address.
	ErrInvalidAddress = errors.New("resolver: invalid IP address")

	// ErrBadServer means Options.Server is not an IP address with an
	// optional port.
	ErrBadServer = errors.New("resolver: server must be an IP address with an optional port")
)

// IsNotFound reports whether err says that the name does not exist or has no
// records of the type asked for. Such an answer is definitive: asking again
// will not change it until the zone does.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a failure that may go away: a server
// failure, a timeout, a network error or a canceled lookup.
func IsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}

// notFoundError builds the error for a negative answer; cause is ErrNXDomain
// or ErrNoData.
func notFoundError(name, server string, cause error) *net.DNSError {
	return &net.DNSError{
		UnwrapErr:  cause,
		Err:        cause.Error(),
		Name:       name,
		Server:     server,
		IsNotFound: true,
	}
}

// permanentError builds the error for a question that can never be answered,
// such as an invalid name. It is neither temporary nor "not found" unless
// notFound is set: net reports invalid host names as not found, and the SPF
// library counts those as void lookups (RFC 7208 §4.6.4).
func permanentError(name string, cause error, notFound bool) *net.DNSError {
	return &net.DNSError{
		UnwrapErr:  cause,
		Err:        cause.Error(),
		Name:       name,
		IsNotFound: notFound,
	}
}

// temporaryError builds the error for a failure that may go away, marking
// timeouts (of the network or of the caller's context) as such.
func temporaryError(name, server string, cause error) *net.DNSError {
	var ne net.Error
	timeout := errors.Is(cause, context.DeadlineExceeded) ||
		(errors.As(cause, &ne) && ne.Timeout())
	return &net.DNSError{
		UnwrapErr:   cause,
		Err:         cause.Error(),
		Name:        name,
		Server:      server,
		IsTimeout:   timeout,
		IsTemporary: true,
	}
}

// copyError returns a copy of a *net.DNSError shared by a coalesced query, so
// that no caller can change what another one sees.
func copyError(err error) error {
	de, ok := err.(*net.DNSError) //nolint:errorlint // only our own, unwrapped errors reach here
	if !ok {
		return err
	}
	c := *de
	return &c
}
