package directory

import (
	"context"
	"fmt"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/dkimkey"
	"github.com/lightr-mail/lightr/mail/dkim"
)

// SigningKeys returns the keys that mail from a domain, named by id or by
// name, is signed with: for each algorithm the active key under the
// domain's current selector, or failing that its newest active key, so a
// domain with an active key always signs. RSA comes first, then Ed25519,
// the order dkim.Sign writes the signatures in.
//
// A domain without an active key yields no keys and no error. A stored key
// that cannot sign is an error: the caller must not send unsigned mail for
// a domain that has a key.
//
// The lookup runs as the system: the outbound worker has no viewer.
func SigningKeys(ctx context.Context, c *ent.Client, domainIDOrName string) ([]dkim.SigningKey, error) {
	ctx = systemContext(ctx)
	d, err := FindDomain(ctx, c, domainIDOrName)
	if err != nil {
		return nil, fmt.Errorf("dkim keys of domain %s: %w", domainIDOrName, err)
	}
	rows, err := c.DKIMKey.Query().
		Where(dkimkey.DomainID(d.ID), dkimkey.Active(true)).
		Order(ent.Desc(dkimkey.FieldCreatedAt), ent.Desc(dkimkey.FieldID)).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("dkim keys of domain %s: %w", d.Name, err)
	}

	var keys []dkim.SigningKey
	for _, alg := range []dkimkey.Algorithm{dkimkey.AlgorithmRsa, dkimkey.AlgorithmEd25519} {
		row := pickKey(rows, alg, d.DkimSelector)
		if row == nil {
			continue
		}
		k, err := dkim.NewSigningKey(d.Name, row.Selector, string(alg), row.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s of domain %s: %w", row.ID, d.Name, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// pickKey returns the key of algorithm alg under selector, else the first
// (newest) of that algorithm, else nil.
func pickKey(rows []*ent.DKIMKey, alg dkimkey.Algorithm, selector string) *ent.DKIMKey {
	var newest *ent.DKIMKey
	for _, r := range rows {
		if r.Algorithm != alg {
			continue
		}
		if r.Selector == selector {
			return r
		}
		if newest == nil {
			newest = r
		}
	}
	return newest
}
