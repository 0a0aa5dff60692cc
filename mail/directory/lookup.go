package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Target is one local mailbox owner that a recipient address delivers to.
type Target struct {
	// Address is the address of the account that receives the message,
	// lower case: for an alias or a subaddress (alice+news@…) it is the
	// account's own address, not the one in RCPT TO.
	Address   string
	AccountID pulid.ID
	OrgID     pulid.ID
	DomainID  pulid.ID
}

// Errors of LookupRecipient. The SMTP server maps them to replies: ErrNotHosted
// to 554 5.7.1 (relaying denied) for unauthenticated clients, ErrNoSuchUser
// to 550 5.1.1 and ErrDisabled to 550 5.2.1 (RFC 3463 §3.2, §3.3).
var (
	ErrNotHosted  = errors.New("directory: domain not hosted")
	ErrNoSuchUser = errors.New("directory: no such user")
	ErrDisabled   = errors.New("directory: account disabled")
)

// MaxAliasDepth is how many aliases a lookup follows in a chain before it
// gives up on that branch: an alias pointing at an alias counts two.
const MaxAliasDepth = 5

// subaddressSep separates a local part from its tag (alice+news): mail to
// the tagged address goes to alice unless alice+news exists itself.
const subaddressSep = '+'

// LookupRecipient resolves addr, an RCPT TO address, to the local accounts
// that receive mail sent to it.
//
// The domain and the local part are matched case-insensitively (Lightr
// stores both in lower case; internationalized domains must arrive in their
// ASCII form). An account wins over an alias of the same address, and a
// tagged local part falls back to the untagged one. An alias expands,
// through other aliases up to MaxAliasDepth and with loops cut, to the
// enabled accounts it reaches, each once.
//
// Destinations outside the hosted domains are skipped: forwarding to remote
// mailboxes is not implemented yet, so an alias that only reaches remote
// (or unknown) addresses yields ErrNoSuchUser, and one whose local accounts
// are all disabled yields ErrDisabled. A domain of a disabled organization
// yields ErrDisabled too.
//
// The lookup runs as the system, so the SMTP server needs no viewer. It
// reads through unique indexes only: a plain account takes two queries
// (domain, then account or alias), and each level of alias expansion at
// most two more, whatever the number of destinations.
func LookupRecipient(ctx context.Context, c *ent.Client, addr string) ([]Target, error) {
	local, dom, err := splitRecipient(addr)
	if err != nil {
		return nil, err
	}
	r := &recipientResolver{
		ctx:     rule.SystemContext(ctx),
		c:       c,
		domains: make(map[string]hostedDomain),
		aliases: make(map[string]bool),
		targets: make(map[pulid.ID]bool),
	}
	return r.resolve(local, dom)
}

// splitRecipient splits addr at its last '@' into a lower-case local part
// and domain.
func splitRecipient(addr string) (local, dom string, err error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q is not local@domain", ErrInvalidAddress, addr)
	}
	return addr[:i], strings.TrimSuffix(addr[i+1:], "."), nil
}

// hostedDomain is a row of domains, with whether its organization is
// disabled.
type hostedDomain struct {
	id, org  pulid.ID
	disabled bool
}

// entry is the account or alias that holds an address.
type entry struct {
	alias        bool
	id           pulid.ID
	email        string
	disabled     bool
	domain, org  pulid.ID
	destinations []string
}

// candidate is an address to resolve, split.
type candidate struct {
	local, domain string
}

// recipientResolver holds the state of one lookup: the domains already
// read, the aliases already expanded (to cut loops) and the accounts
// already found (to drop duplicates).
type recipientResolver struct {
	ctx      context.Context
	c        *ent.Client
	domains  map[string]hostedDomain
	aliases  map[string]bool
	targets  map[pulid.ID]bool
	out      []Target
	disabled bool // a disabled account or organization was reached
}

// resolve looks up the address given to LookupRecipient, whose failures,
// unlike those of alias destinations, are reported.
func (r *recipientResolver) resolve(local, dom string) ([]Target, error) {
	if err := r.loadDomains([]candidate{{local, dom}}); err != nil {
		return nil, err
	}
	d, ok := r.domains[dom]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s", ErrNotHosted, dom)
	case d.disabled:
		return nil, fmt.Errorf("%w: organization of %s", ErrDisabled, dom)
	}
	entries, err := r.loadEntries([]candidate{{local, dom}})
	if err != nil {
		return nil, err
	}
	e, ok := bestEntry(entries, local, dom)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s@%s", ErrNoSuchUser, local, dom)
	case !e.alias && e.disabled:
		return nil, fmt.Errorf("%w: %s", ErrDisabled, e.email)
	case !e.alias:
		r.add(e)
		return r.out, nil
	}

	r.aliases[e.email] = true
	if err := r.expand(e.destinations); err != nil {
		return nil, err
	}
	switch {
	case len(r.out) > 0:
		return r.out, nil
	case r.disabled:
		return nil, fmt.Errorf("%w: every account of alias %s", ErrDisabled, e.email)
	}
	return nil, fmt.Errorf("%w: alias %s reaches no local account", ErrNoSuchUser, e.email)
}

// expand resolves the destinations of an alias level by level, reading
// each level's domains and entries in one query each.
func (r *recipientResolver) expand(dests []string) error {
	for depth := 2; len(dests) > 0; depth++ {
		level := make([]candidate, 0, len(dests))
		for _, a := range dests {
			local, dom, err := splitRecipient(a)
			if err == nil {
				level = append(level, candidate{local, dom})
			}
		}
		if err := r.loadDomains(level); err != nil {
			return err
		}
		level = r.hostedOnly(level)
		entries, err := r.loadEntries(level)
		if err != nil {
			return err
		}

		dests = nil
		for _, cd := range level {
			e, ok := bestEntry(entries, cd.local, cd.domain)
			switch {
			case !ok:
				// An unknown user at a hosted domain: nothing to deliver.
			case !e.alias && e.disabled:
				r.disabled = true
			case !e.alias:
				r.add(e)
			case depth <= MaxAliasDepth && !r.aliases[e.email]:
				r.aliases[e.email] = true
				dests = append(dests, e.destinations...)
			}
		}
	}
	return nil
}

// hostedOnly drops the candidates whose domain is not hosted, or belongs to
// a disabled organization.
func (r *recipientResolver) hostedOnly(level []candidate) []candidate {
	out := level[:0]
	for _, cd := range level {
		d, ok := r.domains[cd.domain]
		if ok && d.disabled {
			r.disabled = true
		}
		if ok && !d.disabled {
			out = append(out, cd)
		}
	}
	return out
}

// add records the account of e as a target, once.
func (r *recipientResolver) add(e entry) {
	if r.targets[e.id] {
		return
	}
	r.targets[e.id] = true
	r.out = append(r.out, Target{Address: e.email, AccountID: e.id, OrgID: e.org, DomainID: e.domain})
}

// bestEntry picks the entry that receives mail for local@dom: the exact
// address before its untagged form, and an account before an alias.
func bestEntry(entries map[string][]entry, local, dom string) (entry, bool) {
	for _, email := range addressForms(local, dom) {
		es := entries[email]
		for _, e := range es {
			if !e.alias {
				return e, true
			}
		}
		if len(es) > 0 {
			return es[0], true
		}
	}
	return entry{}, false
}

// addressForms returns the addresses that may hold mail for local@dom, best
// first: itself and, for a tagged local part, the untagged address.
func addressForms(local, dom string) []string {
	forms := []string{local + "@" + dom}
	if i := strings.IndexByte(local, subaddressSep); i > 0 {
		forms = append(forms, local[:i]+"@"+dom)
	}
	return forms
}

// loadDomains reads the domains of cds that are not known yet, with
// whether their organization is disabled; unhosted ones stay absent.
func (r *recipientResolver) loadDomains(cds []candidate) error {
	var names []any
	for _, cd := range cds {
		if _, ok := r.domains[cd.domain]; !ok {
			names = append(names, cd.domain)
		}
	}
	if len(names) == 0 {
		return nil
	}
	// Raw SQL, which no privacy policy filters: this is the system's
	// lookup, and one join beats a query per table through Ent.
	rows, err := r.c.QueryContext(r.ctx, `SELECT d.name, d.id, d.organization_id, o.disabled
		FROM domains d JOIN organizations o ON o.id = d.organization_id
		WHERE d.name IN (`+placeholders(len(names))+`)`, names...)
	if err != nil {
		return fmt.Errorf("directory: look up domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var d hostedDomain
		if err := rows.Scan(&name, &d.id, &d.org, &d.disabled); err != nil {
			return fmt.Errorf("directory: look up domains: %w", err)
		}
		r.domains[name] = d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("directory: look up domains: %w", err)
	}
	return nil
}

// entriesQuery finds the accounts and aliases holding any of a list of
// addresses, through the unique indexes on accounts.email and
// aliases.email. %s is the list of placeholders, used twice.
const entriesQuery = `SELECT 0, id, email, disabled, domain_id, organization_id, NULL
	FROM accounts WHERE email IN (%[1]s)
	UNION ALL
	SELECT 1, id, email, 0, domain_id, organization_id, destinations
	FROM aliases WHERE email IN (%[1]s)`

// loadEntries reads the accounts and aliases that may hold mail for cds,
// keyed by address.
func (r *recipientResolver) loadEntries(cds []candidate) (map[string][]entry, error) {
	var emails []any
	for _, cd := range cds {
		for _, f := range addressForms(cd.local, cd.domain) {
			emails = append(emails, f)
		}
	}
	out := make(map[string][]entry)
	if len(emails) == 0 {
		return out, nil
	}
	query := fmt.Sprintf(entriesQuery, placeholders(len(emails)))
	rows, err := r.c.QueryContext(r.ctx, query, append(emails, emails...)...)
	if err != nil {
		return nil, fmt.Errorf("directory: look up addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e entry
		var dests []byte
		if err := rows.Scan(&e.alias, &e.id, &e.email, &e.disabled, &e.domain, &e.org, &dests); err != nil {
			return nil, fmt.Errorf("directory: look up addresses: %w", err)
		}
		if e.alias {
			if err := json.Unmarshal(dests, &e.destinations); err != nil {
				return nil, fmt.Errorf("directory: destinations of %s: %w", e.email, err)
			}
		}
		out[e.email] = append(out[e.email], e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: look up addresses: %w", err)
	}
	return out, nil
}

// placeholders returns n comma-separated SQL parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
