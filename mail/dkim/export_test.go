package dkim

import "crypto"

// KeyWithSigner builds a SigningKey around any signer, so that tests can
// sign with a key that NewSigningKey would refuse or one that fails.
func KeyWithSigner(domain, selector, algorithm string, s crypto.Signer) SigningKey {
	return SigningKey{Domain: domain, Selector: selector, Algorithm: algorithm, signer: s}
}
