// Package auth holds Lightr's credential primitives: the Ed25519 keys that
// sign tenant JWTs, the tokens themselves, opaque API keys, and password
// hashes.
//
// The package is deliberately free of storage and transport. It does not
// import ent or graph (they import it), it does not log, and it never sees a
// request. Callers look up API-key hashes and password hashes in the
// database, pick the audience of the surface they serve, and map errors to
// protocol replies.
//
// # Tenant tokens
//
// Tokens are JWTs signed with EdDSA (Ed25519). Each key is named by its RFC
// 7638 JWK thumbprint, which is placed in the "kid" header and published in
// the JWK Set served at /.well-known/jwks.json. A [KeySet] holds the current
// signing key plus any older or newer public keys that are still accepted,
// so keys can be rotated without invalidating live tokens. [KeySet.Verify]
// accepts only EdDSA, requires exp, checks iss and aud, and reports every
// failure as [ErrInvalidToken].
//
// # API keys
//
// API keys are "lr_" followed by 256 random bits. Only their SHA-256 hash is
// stored; see [NewAPIKey] for why a fast hash is the right choice here.
//
// # Passwords
//
// Passwords are hashed with argon2id and stored in the PHC string format.
// The cost parameters live in [PasswordParams] and are read back from each
// stored hash, so they can be raised later; [NeedsRehash] tells a caller when
// to upgrade a hash after a successful login. Concurrent argon2 computations
// are limited to the number of CPUs, which bounds the memory a burst of
// logins can take.
package auth
