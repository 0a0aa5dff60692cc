// Package viewer carries who is making a request through its context.
//
// Every entry point (HTTP, SMTP, IMAP, the CLI and the background workers)
// puts a Viewer in the context before it touches the data layer; the Ent
// privacy rules in ent/rule read it and fail closed when it is missing.
package viewer

import (
	"context"
	"slices"
	"time"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Kind says what sort of principal a Viewer is.
type Kind int

const (
	// KindOrg is a tenant: an organization token or API key. It sees only
	// its organization's rows, within its scopes.
	KindOrg Kind = iota + 1
	// KindAccount is a mailbox user (IMAP or SMTP login): it sees its own
	// account, mailboxes and messages.
	KindAccount
	// KindAdmin is the server-wide superuser (the admin API key, the CLI).
	KindAdmin
)

// String returns the kind's name for logs.
func (k Kind) String() string {
	switch k {
	case KindOrg:
		return "org"
	case KindAccount:
		return "account"
	case KindAdmin:
		return "admin"
	}
	return "unknown"
}

// Scope is a permission carried by a token or API key.
type Scope string

// The scopes Lightr knows. Write implies read.
const (
	ScopeRead  Scope = "read"  // read everything in the organization
	ScopeWrite Scope = "write" // manage domains, accounts, aliases, mailboxes, …
	ScopeSend  Scope = "send"  // send mail
	ScopeKeys  Scope = "keys"  // manage API keys and issue tokens
)

// TenantScopes lists every scope an organization viewer can hold.
var TenantScopes = []Scope{ScopeRead, ScopeWrite, ScopeSend, ScopeKeys}

// ValidScope reports whether s names a known tenant scope.
func ValidScope(s string) bool {
	return slices.Contains(TenantScopes, Scope(s))
}

// Viewer is the principal behind a request.
type Viewer struct {
	Kind      Kind
	OrgID     pulid.ID // set for KindOrg and KindAccount
	AccountID pulid.ID // set for KindAccount
	Scopes    []Scope
	// Subject identifies the credential for logs and audit: an API key id,
	// a token subject or an account address. Never a secret.
	Subject string
	// KeyID is the API key behind the viewer, if one is.
	KeyID pulid.ID
	// Expires is when the credential stops being valid: a JWT's exp or an
	// API key's expiresAt. It is zero for credentials without an end.
	// Connections that outlive a request (subscriptions) close then.
	Expires time.Time
}

// Admin reports whether v is the server-wide superuser.
func (v *Viewer) Admin() bool { return v != nil && v.Kind == KindAdmin }

// Has reports whether v holds scope s. Admins hold every scope; write
// implies read; account viewers may read and write their own mail.
func (v *Viewer) Has(s Scope) bool {
	switch {
	case v == nil:
		return false
	case v.Kind == KindAdmin:
		return true
	case v.Kind == KindAccount:
		return s == ScopeRead || s == ScopeWrite || s == ScopeSend
	case s == ScopeRead && slices.Contains(v.Scopes, ScopeWrite):
		return true
	}
	return slices.Contains(v.Scopes, s)
}

type ctxKey struct{}

// NewContext returns a copy of ctx that carries v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the Viewer in ctx, or nil.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(ctxKey{}).(*Viewer)
	return v
}

// AdminContext returns ctx with the superuser as viewer, for the CLI.
func AdminContext(ctx context.Context) context.Context {
	return NewContext(ctx, &Viewer{Kind: KindAdmin, Subject: "cli"})
}

// OrgIDOrEmpty returns the organization of v, or "" for a nil viewer or
// the admin.
func (v *Viewer) OrgIDOrEmpty() pulid.ID {
	if v == nil {
		return ""
	}
	return v.OrgID
}
