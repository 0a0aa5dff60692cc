package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/auth"
)

// ErrBadCredentials is returned for an unknown address or a wrong
// password; the two are not told apart, so that a client cannot learn
// which addresses exist.
var ErrBadCredentials = errors.New("access: bad credentials")

// ErrAccountDisabled is returned for the right password of a disabled
// account or of an account in a disabled organization.
var ErrAccountDisabled = errors.New("access: account disabled")

// Passwords checks the passwords of mailbox accounts for IMAP and SMTP
// logins. The argon2id hash is deliberately slow (tens of milliseconds
// and 64 MiB per check), and mail clients log in again for every folder
// they sync, so a successful check is remembered for CacheTTL: a later
// login with the same password is compared against a salted SHA-256 of
// it instead. The entry is only valid while the account's stored hash is
// the one it was checked against, so a password change ends it at once.
type Passwords struct {
	Client *ent.Client
	// CacheTTL is how long a successful check is remembered; zero means
	// 5 minutes, negative turns the cache off.
	CacheTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	once  sync.Once
	salt  [32]byte
	mu    sync.Mutex
	cache map[pulid.ID]checked
}

type checked struct {
	hash    string   // the password_hash the password was checked against
	digest  [32]byte // SHA-256 of salt and password
	expires time.Time
}

// maxCachedLogins bounds the cache; past it, it starts over.
const maxCachedLogins = 100_000

// Check returns the account that email names when password is its
// password, and the account viewer to act as. The address is matched as
// the directory stores it (lower case, IDNA).
func (p *Passwords) Check(ctx context.Context, email, password string) (*ent.Account, *viewer.Viewer, error) {
	p.once.Do(func() {
		rand.Read(p.salt[:])
		p.cache = map[pulid.ID]checked{}
	})
	local, dom, err := directory.SplitAddress(email)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	sys := rule.SystemContext(ctx)
	a, err := p.Client.Account.Query().Where(account.Email(local + "@" + dom)).
		WithDomain(func(q *ent.DomainQuery) { q.WithOrganization() }).Only(sys)
	if ent.IsNotFound(err) {
		// Spend the time a real check takes, so that timing does not
		// tell unknown addresses from wrong passwords.
		_, _ = auth.CheckPassword(dummyHash(), password)
		return nil, nil, fmt.Errorf("%w: no account %q", ErrBadCredentials, email)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("access: look up %q: %w", email, err)
	}
	if !p.cached(a, password) {
		ok, err := auth.CheckPassword(a.PasswordHash, password)
		if err != nil && !errors.Is(err, auth.ErrEmptyPassword) && !errors.Is(err, auth.ErrPasswordTooLong) {
			return nil, nil, fmt.Errorf("access: check password of %s: %w", a.ID, err)
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: wrong password for %q", ErrBadCredentials, email)
		}
		p.remember(a, password)
	}
	if a.Disabled || a.Edges.Domain == nil || a.Edges.Domain.Edges.Organization == nil ||
		a.Edges.Domain.Edges.Organization.Disabled {
		return nil, nil, fmt.Errorf("%w: %s", ErrAccountDisabled, a.ID)
	}
	v := &viewer.Viewer{Kind: viewer.KindAccount, OrgID: a.OrganizationID, AccountID: a.ID, Subject: a.Email}
	return a, v, nil
}

func (p *Passwords) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Passwords) digest(password string) [32]byte {
	h := sha256.New()
	h.Write(p.salt[:])
	h.Write([]byte(password))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// cached reports whether password was checked for a's current hash lately.
func (p *Passwords) cached(a *ent.Account, password string) bool {
	if p.CacheTTL < 0 {
		return false
	}
	p.mu.Lock()
	c, ok := p.cache[a.ID]
	p.mu.Unlock()
	if !ok || c.hash != a.PasswordHash || p.now().After(c.expires) {
		return false
	}
	d := p.digest(password)
	return subtle.ConstantTimeCompare(d[:], c.digest[:]) == 1
}

func (p *Passwords) remember(a *ent.Account, password string) {
	if p.CacheTTL < 0 {
		return
	}
	ttl := p.CacheTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cache) >= maxCachedLogins {
		clear(p.cache)
	}
	p.cache[a.ID] = checked{hash: a.PasswordHash, digest: p.digest(password), expires: p.now().Add(ttl)}
}

// dummyHash is a valid hash of a random password, for the timing of
// logins to unknown addresses.
var dummyHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(auth.GeneratePassword())
	if err != nil {
		return ""
	}
	return h
})
