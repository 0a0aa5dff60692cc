package verify

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// headerName is the field the header is written as (RFC 8601 §2.2).
const headerName = "Authentication-Results"

// lineWidth is where the header is folded (RFC 5322 §2.1.1 asks for 78).
const lineWidth = 78

// maxReason bounds the length of a reason in the header.
const maxReason = 60

// header formats the Authentication-Results field: one result per line, the
// SPF result, one DKIM result per signature (dkim=none when unsigned), and
// the DMARC result.
func (v *Verifier) header(in Input, spfOut spfOutcome, sigs []signature, dm dmarcOutcome) string {
	id := sanitizeToken(v.AuthServID)
	if id == "" {
		id = DefaultAuthServID
	}

	sr := &authres.SPFResult{
		Value:  authres.ResultValue(spfOut.result),
		Reason: cleanReason(spfOut.reason),
	}
	if spfOut.helo {
		sr.Helo = sanitizeToken(spfOut.domain)
	} else {
		sr.From = sanitizeToken(spfOut.domain)
	}
	results := []authres.Result{sr}

	if len(sigs) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, s := range sigs {
		results = append(results, &authres.DKIMResult{
			Value:      authres.ResultValue(s.result),
			Reason:     cleanReason(s.reason),
			Domain:     sanitizeToken(s.domain),
			Identifier: sanitizeToken(s.identifier),
		})
	}

	results = append(results, &authres.DMARCResult{
		Value:  authres.ResultValue(dm.result),
		Reason: cleanReason(dm.reason),
		From:   sanitizeToken(dm.domain),
	})

	var b strings.Builder
	b.WriteString(headerName + ": " + id)
	for _, r := range results {
		b.WriteString(";\r\n\t")
		b.WriteString(fold(formatResult(r)))
	}
	b.WriteString("\r\n")
	return b.String()
}

// formatResult formats one result as authres writes it after the
// identifier, "method=value ptype.property=value ...".
func formatResult(r authres.Result) string {
	s := authres.Format("x", []authres.Result{r})
	return strings.TrimSpace(strings.TrimPrefix(s, "x; "))
}

// fold breaks s at spaces outside quoted strings so that no line is longer
// than lineWidth, counting the tab that starts each line as 8 columns.
func fold(s string) string {
	var b strings.Builder
	col := 8
	inQuote := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			if s[i] == '"' && (i == 0 || s[i-1] != '\\') {
				inQuote = !inQuote
			}
			if s[i] != ' ' || inQuote {
				continue
			}
		}
		word := s[start:i]
		switch {
		case start == 0:
		case col+1+len(word) > lineWidth:
			b.WriteString("\r\n\t")
			col = 8
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
		start = i + 1
	}
	return b.String()
}

// sanitizeToken keeps only the characters of host names and addresses, so
// that nothing taken from the message or the SMTP session can break the
// header's syntax or inject a field.
func sanitizeToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(".-_@+[]:", r):
			return r
		}
		return -1
	}, s)
}

// cleanReason makes a reason safe to quote: printable ASCII without the
// characters that end a quoted string or a result, shortened to maxReason.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || strings.ContainsRune(`"\;()=`, r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxReason {
		s = s[:maxReason]
	}
	return strings.TrimSpace(s)
}
