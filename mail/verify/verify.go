package verify

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/mail/resolver"
)

// Defaults for the Verifier's fields.
const (
	// DefaultMaxSignatures is how many DKIM signatures are verified per
	// message; more are ignored, so that a message cannot make the server
	// do unbounded work (RFC 6376 §8.4).
	DefaultMaxSignatures = 5

	// DefaultTimeout bounds a whole verification.
	DefaultTimeout = 20 * time.Second

	// DefaultAuthServID names this server in the header when AuthServID is
	// empty.
	DefaultAuthServID = "localhost"
)

// Result values, the RFC 8601 §2.7 keywords.
const (
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultSoftFail  = "softfail"
	ResultNeutral   = "neutral"
	ResultNone      = "none"
	ResultTempError = "temperror"
	ResultPermError = "permerror"
)

// DMARC policies, as in the p= and sp= tags (RFC 7489 §6.3).
const (
	PolicyNone       = "none"
	PolicyQuarantine = "quarantine"
	PolicyReject     = "reject"
)

// Verifier checks SPF, DKIM and DMARC for inbound messages. Its fields are
// read-only once it is in use; it is safe for concurrent use.
type Verifier struct {
	// Resolver asks DNS. It is required: without it every check that
	// needs DNS is a temperror.
	Resolver *resolver.Resolver

	// AuthServID is this server's host name, the first token of the
	// Authentication-Results field (RFC 8601 §2.5); empty means
	// DefaultAuthServID.
	AuthServID string

	// MaxSignatures is how many DKIM signatures are verified per message;
	// zero or less means DefaultMaxSignatures.
	MaxSignatures int

	// Timeout bounds a whole verification; zero or less means
	// DefaultTimeout.
	Timeout time.Duration
}

// Input is what Verify needs to know about a message and its SMTP session.
type Input struct {
	// RemoteIP is the SMTP client's address.
	RemoteIP net.IP

	// Helo is the name the client gave in HELO or EHLO.
	Helo string

	// MailFrom is the envelope sender, "" for the null sender.
	MailFrom string

	// Raw is the message as received, with CRLF line endings, before any
	// header of ours is added.
	Raw []byte
}

// Result is the outcome of a verification. The result fields hold RFC 8601
// keywords: pass, fail, softfail, neutral, none, temperror or permerror.
type Result struct {
	// SPF is the SPF result for SPFDomain.
	SPF string

	// DKIM combines the results of the message's signatures (see the
	// package documentation).
	DKIM string

	// DMARC is the DMARC result for FromDomain.
	DMARC string

	// SPFDomain is the domain SPF checked: the MAIL FROM domain, or the
	// HELO name for the null sender.
	SPFDomain string

	// DKIMDomains are the d= domains of the signatures that passed, in
	// order, without repetition.
	DKIMDomains []string

	// FromDomain is the RFC 5322 From domain that DMARC evaluated (with
	// several author domains, the one that decided the result); empty
	// without a usable From field.
	FromDomain string

	// DMARCPolicy is the policy that applies to FromDomain: none,
	// quarantine or reject, empty when no DMARC record was found. A
	// p=reject published with pct below 100 is given as quarantine.
	DMARCPolicy string

	// DMARCPercent is the pct tag of the record that applies, 100 when the
	// tag is absent, 0 without a record.
	DMARCPercent int

	// Header is the complete Authentication-Results field, folded, ending
	// in CRLF, ready to prepend to the message.
	Header string
}

// RejectByDMARC reports whether the author domain asks for the message to be
// rejected: DMARC failed under p=reject (with pct=100, see DMARCPolicy).
func (r Result) RejectByDMARC() bool {
	return r.DMARC == ResultFail && r.DMARCPolicy == PolicyReject
}

// QuarantineByDMARC reports whether the author domain asks for the message to
// be treated as suspicious, delivered to a junk folder for instance: DMARC
// failed under p=quarantine, or under p=reject with pct below 100.
func (r Result) QuarantineByDMARC() bool {
	return r.DMARC == ResultFail && r.DMARCPolicy == PolicyQuarantine
}

// Verify checks the sender of a message. SPF, DKIM and the DMARC policy
// lookup run at the same time; DMARC is then decided from their results. It
// never fails: DNS trouble, a missing Resolver or the Timeout elapsing show
// as temperror in the Result.
func (v *Verifier) Verify(ctx context.Context, in Input) Result {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	authors, fromStatus := authorDomains(in.Raw)

	var spfOut spfOutcome
	var sigs []signature
	var policies []policyOutcome
	var wg sync.WaitGroup
	wg.Go(func() { spfOut = v.checkSPF(ctx, in) })
	wg.Go(func() { sigs = v.checkDKIM(ctx, in.Raw) })
	wg.Go(func() { policies = v.discoverPolicies(ctx, authors) })
	wg.Wait()

	res := Result{
		SPF:         spfOut.result,
		SPFDomain:   spfOut.domain,
		DKIM:        combineDKIM(sigs),
		DKIMDomains: passingDomains(sigs),
	}
	dm := evaluateDMARC(fromStatus, policies, spfOut, sigs)
	res.DMARC = dm.result
	res.FromDomain = dm.domain
	res.DMARCPolicy = dm.policy
	res.DMARCPercent = dm.percent

	res.Header = v.header(in, spfOut, sigs, dm)
	return res
}
