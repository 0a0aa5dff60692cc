package verify

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// noResolver is the TXT lookup of a Verifier without a Resolver: every
// answer is a temporary failure, which the libraries report as temperror.
func noResolver(name string) ([]string, error) {
	return nil, &net.DNSError{Err: "no resolver configured", Name: name, IsTemporary: true}
}

// lookupTXT returns the TXT lookup, bound to ctx, that the go-msgauth
// libraries take.
func (v *Verifier) lookupTXT(ctx context.Context) func(string) ([]string, error) {
	if v.Resolver == nil {
		return noResolver
	}
	return v.Resolver.LookupTXTFunc(ctx)
}

// signature is the outcome of one DKIM signature.
type signature struct {
	result     string
	domain     string // d=, lower case
	identifier string // i=
	reason     string
}

// checkDKIM verifies the first MaxSignatures DKIM signatures of raw.
func (v *Verifier) checkDKIM(ctx context.Context, raw []byte) []signature {
	limit := v.MaxSignatures
	if limit <= 0 {
		limit = DefaultMaxSignatures
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT:        v.lookupTXT(ctx),
		MaxVerifications: limit,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The header could not be read at all. Without a signature field
		// there is nothing to report; with one, it is unusable.
		if hasSignatureField(raw) {
			return []signature{{result: ResultPermError, reason: "malformed header"}}
		}
		return nil
	}

	sigs := make([]signature, 0, len(verifs))
	for _, vf := range verifs {
		s := signature{domain: normalizeDomain(vf.Domain)}
		// The identifier defaults to "@" and the domain (RFC 6376 §3.5);
		// only one the signer chose says anything more.
		if !strings.EqualFold(vf.Identifier, "@"+vf.Domain) {
			s.identifier = vf.Identifier
		}
		switch {
		case vf.Err == nil:
			s.result = ResultPass
		case dkim.IsTempFail(vf.Err):
			s.result = ResultTempError
		case dkim.IsPermFail(vf.Err):
			s.result = ResultPermError
		default:
			s.result = ResultFail
		}
		if vf.Err != nil {
			s.reason = libraryReason(vf.Err)
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// combineDKIM sums the signatures up in one result: pass if any passed, then
// temperror (asking again may pass), fail, permerror, and none when the
// message is not signed.
func combineDKIM(sigs []signature) string {
	if len(sigs) == 0 {
		return ResultNone
	}
	for _, want := range []string{ResultPass, ResultTempError, ResultFail} {
		if slices.ContainsFunc(sigs, func(s signature) bool { return s.result == want }) {
			return want
		}
	}
	return ResultPermError
}

// passingDomains returns the d= domains of the signatures that passed, once
// each, in order.
func passingDomains(sigs []signature) []string {
	var domains []string
	for _, s := range sigs {
		if s.result == ResultPass && !slices.Contains(domains, s.domain) {
			domains = append(domains, s.domain)
		}
	}
	return domains
}

// hasSignatureField reports whether the header of raw seems to hold a
// DKIM-Signature field, for when it cannot be parsed properly.
func hasSignatureField(raw []byte) bool {
	header := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		header = raw[:i]
	}
	for line := range strings.SplitSeq(string(header), "\n") {
		if len(line) >= 15 && strings.EqualFold(line[:15], "DKIM-Signature:") {
			return true
		}
	}
	return false
}
