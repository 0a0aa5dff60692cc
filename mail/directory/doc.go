// Package directory manages who Lightr hosts: organizations' domains,
// accounts (with their standard mailboxes) and aliases. The GraphQL API
// and the CLI both call it, so the rules of an address (normal form,
// uniqueness, organization limits) live in one place.
//
// Functions take the *ent.Client to write with, which may be bound to a
// transaction, and rely on the caller's viewer for tenancy: the privacy
// rules in ent/rule decide what each caller may touch.
package directory
