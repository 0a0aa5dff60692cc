package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy says which endpoint addresses are allowed. The zero Policy is the
// strict one: https only, public addresses only.
type Policy struct {
	// AllowLoopback allows 127.0.0.0/8, ::1 and localhost names; tests and
	// receivers on the same host need it.
	AllowLoopback bool
	// AllowPrivate allows RFC 1918, CGNAT (100.64.0.0/10) and IPv6
	// unique-local (fc00::/7) addresses, for receivers on an internal
	// network. Link-local and metadata addresses stay refused.
	AllowPrivate bool
	// AllowHTTP allows http:// URLs beside https://.
	AllowHTTP bool
}

// ErrRefusedAddress is wrapped by the errors of addresses the Policy
// refuses.
var ErrRefusedAddress = errors.New("webhooks: address refused")

// Ranges refused whatever the Policy says, beyond what netip classifies:
// metadata services live in link-local space (169.254.169.254, and AWS's
// fd00:ec2::254 inside the unique-local range, refused unless private
// ranges are allowed).
var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	metadata6 = netip.MustParseAddr("fd00:ec2::254")
)

// CheckAddr returns an error wrapping ErrRefusedAddress when p refuses a.
func (p Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	var class string
	switch {
	case !a.IsValid():
		class = "invalid"
	case a.IsUnspecified():
		class = "unspecified"
	case a.IsLoopback():
		if p.AllowLoopback {
			return nil
		}
		class = "loopback"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		class = "link-local"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		class = "multicast"
	case a == metadata6:
		class = "metadata"
	case a.IsPrivate(), cgnat.Contains(a):
		if p.AllowPrivate {
			return nil
		}
		class = "private"
	case a.Is4() && a.As4()[0] == 0, a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		class = "reserved"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s is %s", ErrRefusedAddress, a, class)
}

// CheckURL checks an endpoint URL before it is saved: an absolute http(s)
// URL without credentials, whose host, when it is an address or a
// localhost name, p allows. Names are checked again at every connection.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return errors.New("must use https")
		}
	default:
		return errors.New("must use https")
	}
	if u.User != nil {
		return errors.New("must not hold credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(a)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if !p.AllowLoopback {
			return fmt.Errorf("%w: %s is loopback", ErrRefusedAddress, host)
		}
	}
	return nil
}

// control is the dialer's Control hook: it runs after the name was
// resolved, for each address tried, before the connection is made.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRefusedAddress, address, err)
	}
	return p.CheckAddr(ap.Addr())
}

// maxResponseBytes bounds what is read of a receiver's answer: only the
// status matters, and a short excerpt goes into the delivery log.
const maxResponseBytes = 4 << 10

// NewHTTPClient returns the client that delivers: p checks every address
// it dials, it follows no redirect, ignores proxies from the environment,
// and gives up on a request after timeout.
func NewHTTPClient(p Policy, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), Control: p.control}
	t := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   min(timeout, 10*time.Second),
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
