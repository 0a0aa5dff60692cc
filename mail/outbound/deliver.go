package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// job is one Deliver call in progress.
type job struct {
	domain   string
	from     string
	msg      []byte
	res      *Result
	pending  []int // indexes of the recipients still without an outcome
	needUTF8 bool  // the envelope has non-ASCII addresses (RFC 6531)
	utf8Hdr  bool  // the header section has non-ASCII bytes (RFC 6532)
}

// Deliver sends msg from mailFrom to rcpts, which all belong to domain, over
// one connection, and returns an outcome per recipient; see the package
// documentation for how failures are classified. msg must have CRLF line
// endings; it is sent as it is.
//
// The error is non-nil, and the Result nil, when the arguments cannot be
// sent at all (ErrInvalidArgument). When ctx ends during the delivery the
// Result is returned with the unfinished recipients deferred, together with
// the context's error.
func (c *Client) Deliver(
	ctx context.Context, domain, mailFrom string, rcpts []string, msg []byte,
) (*Result, error) {
	start := time.Now()
	if err := checkArgs(domain, mailFrom, rcpts); err != nil {
		return nil, err
	}
	j := &job{domain: domain, from: mailFrom, msg: msg, res: &Result{}}
	j.needUTF8 = !isASCII(mailFrom)
	j.utf8Hdr = !isASCII(headerSection(msg))
	for i, r := range rcpts {
		j.res.Recipients = append(j.res.Recipients, RecipientResult{Address: r})
		if !validAddress(r) {
			j.set(i, local(StatusFailed, "5.1.3", "malformed recipient address"), nil)
			continue
		}
		j.needUTF8 = j.needUTF8 || !isASCII(r)
		j.pending = append(j.pending, i)
	}

	if len(j.pending) > 0 {
		c.run(ctx, j)
	}
	j.res.Duration = time.Since(start)
	for i := range j.res.Recipients {
		j.res.Recipients[i].Duration = j.res.Duration
	}
	if err := ctx.Err(); err != nil {
		return j.res, fmt.Errorf("outbound: deliver to %s: %w", domain, err)
	}
	return j.res, nil
}

// run routes the job and tries its hosts until one gives an outcome.
func (c *Client) run(ctx context.Context, j *job) {
	targets, o := c.route(ctx, j.domain)
	if o != nil {
		j.setPending(*o, nil)
		return
	}

	// If no host can be used the recipients are deferred with the last
	// failure, unless no host had an address at all: then the domain has
	// no usable route (RFC 3463 X.4.4), which waiting will not change.
	var lastDeferred *outcome
	tried := 0
	for _, t := range targets {
		addrs, err := c.addresses(ctx, t.host)
		if err != nil {
			if o := c.hostDNSFailure(j, t, err); o.status == StatusDeferred {
				lastDeferred = &o
			}
			continue
		}
		for _, a := range addrs {
			if tried == maxAddresses || ctx.Err() != nil {
				break
			}
			tried++
			done, failure := c.try(ctx, j, t, a)
			if done {
				return
			}
			lastDeferred = &failure
		}
	}
	if lastDeferred == nil {
		j.setPending(local(StatusBounced, "5.4.4", "no mail exchanger of "+j.domain+" has an address"), nil)
		return
	}
	j.setPending(*lastDeferred, nil)
}

// hostDNSFailure records a host whose addresses could not be found: a
// deferral when the lookup may succeed later.
func (c *Client) hostDNSFailure(j *job, t target, err error) outcome {
	var de *net.DNSError
	o := local(StatusDeferred, "4.4.3", "DNS lookup of "+t.host+" failed: "+err.Error())
	if errors.As(err, &de) && de.IsNotFound {
		o = local(StatusBounced, "5.4.4", "mail exchanger "+t.host+" has no address: "+err.Error())
	}
	c.hostFailed(j, t.host, "", o)
	return o
}

// hostFailed notes a host that could not be used.
func (c *Client) hostFailed(j *job, host, addr string, o outcome) {
	j.res.HostErrors = append(j.res.HostErrors, HostError{Host: host, Addr: addr, Outcome: o.text})
	c.log.Debug("host unusable", "domain", j.domain, "host", host, "addr", addr,
		"smtp_code", o.code, "enh_code", o.enhanced, "err", o.text)
}

// try delivers over one address. It returns done when every recipient has
// its outcome, and otherwise why the address could not be used.
func (c *Client) try(ctx context.Context, j *job, t target, a netip.Addr) (done bool, failure outcome) {
	addr := net.JoinHostPort(a.String(), strconv.Itoa(t.port))
	key := cacheKey(t.host, addr)
	if s := c.cache.take(ctx, key); s != nil {
		return c.transactOn(j, s, key)
	}
	s, e := c.open(ctx, t, a, true)
	if e != nil && e.plainRetry {
		c.hostFailed(j, t.host, addr, e.o)
		s, e = c.open(ctx, t, a, false)
	}
	if e != nil {
		c.hostFailed(j, t.host, addr, e.o)
		if e.final {
			j.res.Host = t.host
			j.setPending(e.o, &session{host: t.host})
			return true, e.o
		}
		return false, e.o
	}
	return c.transactOn(j, s, key)
}

// transactOn runs j's transaction on s and then caches or closes s.
func (c *Client) transactOn(j *job, s *session, key string) (bool, outcome) {
	defer c.cache.put(key, s)
	s.uses++
	j.res.Host, j.res.TLS = s.host, s.tls
	c.transact(j, s)
	return true, outcome{}
}
