package verify

import (
	"context"
	"errors"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// policyOutcome is what policy discovery found for one author domain.
type policyOutcome struct {
	domain  string
	org     string        // organizational domain of domain
	record  *dmarc.Record // nil when none applies
	policy  string        // p=, or sp= when the record is the org domain's
	result  string        // temperror or permerror when discovery failed
	reason  string
	percent int
}

// dmarcOutcome is the DMARC verdict for the message.
type dmarcOutcome struct {
	result  string
	domain  string
	policy  string
	percent int
	reason  string
}

// discoverPolicies finds the DMARC policy of each author domain.
func (v *Verifier) discoverPolicies(ctx context.Context, domains []string) []policyOutcome {
	opts := &dmarc.LookupOptions{LookupTXT: v.lookupTXT(ctx)}
	out := make([]policyOutcome, 0, len(domains))
	for _, d := range domains {
		out = append(out, discoverPolicy(d, opts))
	}
	return out
}

// discoverPolicy looks the DMARC record up at domain and, failing that, at
// its organizational domain, whose sp= then applies (RFC 7489 §6.6.3).
func discoverPolicy(domain string, opts *dmarc.LookupOptions) policyOutcome {
	po := policyOutcome{domain: domain, org: orgDomain(domain)}

	rec, err := dmarc.LookupWithOptions(domain, opts)
	fromOrg := false
	if errors.Is(err, dmarc.ErrNoPolicy) && po.org != domain {
		rec, err = dmarc.LookupWithOptions(po.org, opts)
		fromOrg = true
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		return po
	case dmarc.IsTempFail(err):
		po.result, po.reason = ResultTempError, "policy unavailable"
		return po
	case err != nil:
		po.result, po.reason = ResultPermError, libraryReason(err)
		return po
	}

	po.record = rec
	po.policy = string(rec.Policy)
	if fromOrg && rec.SubdomainPolicy != "" {
		po.policy = string(rec.SubdomainPolicy)
	}
	po.percent = 100
	if rec.Percent != nil {
		po.percent = *rec.Percent
	}
	// Without sampling, a partial reject is applied as the next policy down
	// for every message (RFC 7489 §6.6.4 applies it to those not sampled).
	if po.policy == PolicyReject && po.percent < 100 {
		po.policy = PolicyQuarantine
	}
	return po
}

// orgDomain returns the organizational domain of d: one label below its
// public suffix (RFC 7489 §3.2), or d itself when d is a public suffix or
// the list cannot tell.
func orgDomain(d string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// aligned reports whether an authenticated domain aligns with the author
// domain: the same name in strict mode, the same organizational domain in
// relaxed mode (RFC 7489 §3.1).
func aligned(authenticated, author string, mode dmarc.AlignmentMode) bool {
	if authenticated == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return authenticated == author
	}
	return orgDomain(authenticated) == orgDomain(author)
}

// evaluateDMARC decides DMARC for the message from the author domains'
// policies and the SPF and DKIM results.
func evaluateDMARC(
	status fromStatus,
	policies []policyOutcome,
	spfOut spfOutcome,
	sigs []signature,
) dmarcOutcome {
	switch status {
	case fromMissing:
		return dmarcOutcome{result: ResultNone, reason: "no From field"}
	case fromMalformed:
		return dmarcOutcome{result: ResultPermError, reason: "malformed From field"}
	}

	var worst dmarcOutcome
	for i, po := range policies {
		o := evaluateOne(po, spfOut, sigs)
		if i == 0 || worse(o, worst) {
			worst = o
		}
	}
	return worst
}

// evaluateOne decides DMARC for one author domain.
func evaluateOne(po policyOutcome, spfOut spfOutcome, sigs []signature) dmarcOutcome {
	o := dmarcOutcome{domain: po.domain, policy: po.policy, percent: po.percent}
	switch {
	case po.result != "":
		o.result, o.reason = po.result, po.reason
		return o
	case po.record == nil:
		o.result = ResultNone
		return o
	}

	spfAligned := aligned(spfOut.domain, po.domain, po.record.SPFAlignment)
	if spfOut.result == ResultPass && spfAligned {
		o.result = ResultPass
		return o
	}
	tempFailed := spfOut.result == ResultTempError && spfAligned
	for _, s := range sigs {
		if !aligned(s.domain, po.domain, po.record.DKIMAlignment) {
			continue
		}
		switch s.result {
		case ResultPass:
			o.result = ResultPass
			return o
		case ResultTempError:
			tempFailed = true
		}
	}

	if tempFailed {
		o.result, o.reason = ResultTempError, "aligned identifier unavailable"
		return o
	}
	o.result = ResultFail
	return o
}

// dmarcRank orders results from the least to the most worrying.
var dmarcRank = map[string]int{
	ResultPass: 0, ResultNone: 1, ResultPermError: 2, ResultTempError: 3, ResultFail: 4,
}

// policyRank orders policies from the least to the most strict.
var policyRank = map[string]int{"": 0, PolicyNone: 1, PolicyQuarantine: 2, PolicyReject: 3}

// worse reports whether a is a worse outcome than b.
func worse(a, b dmarcOutcome) bool {
	if dmarcRank[a.result] != dmarcRank[b.result] {
		return dmarcRank[a.result] > dmarcRank[b.result]
	}
	return policyRank[a.policy] > policyRank[b.policy]
}
