package app

import (
	"context"
	"os"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/organization"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/server/access"
)

// Demo names the objects SeedDemo creates.
const (
	DemoOrg     = "Demo"
	DemoDomain  = "demo.test"
	DemoAccount = "alice"
)

// DemoOverrides are the configuration of `lightr demo`: every listener on
// loopback, and the data next to the configuration file.
func DemoOverrides() map[string]any {
	return map[string]any{
		"data_dir":        "data", // relative to the configuration file in dir
		"http.addr":       "127.0.0.1:8080",
		"smtp.addr":       "127.0.0.1:2525",
		"imap.addr":       "127.0.0.1:1143",
		"submission.addr": "127.0.0.1:5587",
	}
}

// DemoInfo is what `lightr demo` prints.
type DemoInfo struct {
	OrgID, DomainID, AccountID string
	Email, Password            string
	Token                      string
	TokenExpires               time.Time
	DKIMRecord                 string
}

// SeedDemo makes sure the demo organization, domain (with a DKIM key) and
// account exist, gives the account a new password and issues a fresh
// tenant token, so that every run prints working credentials.
func SeedDemo(ctx context.Context, a *App) (*DemoInfo, error) {
	ctx = viewer.AdminContext(ctx)
	c := a.DB.Client
	org, err := c.Organization.Query().Where(organization.Name(DemoOrg)).First(ctx)
	if ent.IsNotFound(err) {
		org, err = c.Organization.Create().SetName(DemoOrg).Save(ctx)
	}
	if err != nil {
		return nil, err
	}
	dom, err := directory.FindDomain(ctx, c, DemoDomain)
	if ent.IsNotFound(err) {
		dom, err = directory.CreateDomain(ctx, c, &org.ID, ent.CreateDomainInput{Name: DemoDomain})
		if err == nil {
			_, err = directory.AddDKIMKey(ctx, c, dom, "", a.Config.DKIM.Algorithm, a.Config.DKIM.KeyBits)
		}
	}
	if err != nil {
		return nil, err
	}
	acc, err := directory.FindAccount(ctx, c, DemoAccount+"@"+DemoDomain)
	if ent.IsNotFound(err) {
		name := "Alice Demo"
		acc, _, err = directory.CreateAccount(ctx, c, ent.CreateAccountInput{
			LocalPart: DemoAccount, DomainID: dom.ID, DisplayName: &name,
		}, "")
	}
	if err != nil {
		return nil, err
	}
	acc, password, err := directory.SetPassword(ctx, c, acc.ID, "")
	if err != nil {
		return nil, err
	}
	tok, err := a.Auth.IssueToken(ctx, org.ID, nil, 0)
	if err != nil {
		return nil, err
	}
	info := &DemoInfo{
		OrgID: string(org.ID), DomainID: string(dom.ID), AccountID: string(acc.ID),
		Email: acc.Email, Password: password, Token: tok.Token, TokenExpires: tok.ExpiresAt,
	}
	if keys, err := dom.QueryDkimKeys().All(ctx); err == nil && len(keys) > 0 {
		k := keys[0]
		info.DKIMRecord = dkim.ZoneLine(k.Selector, dom.Name, string(k.Algorithm), k.PublicKey)
	}
	return info, nil
}

// DemoAdminKey returns the admin key saved by the first `lightr demo` run,
// creating and saving it (mode 0600, next to the demo data) when missing.
// Only the demo keeps an admin key in a file; `lightr init` shows it once.
func DemoAdminKey(ctx context.Context, a *App, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return string(b), nil
	}
	k, err := access.CreateAdminKey(viewer.AdminContext(ctx), a.DB.Client, "admin (lightr demo)")
	if err != nil {
		return "", err
	}
	return k.Secret, os.WriteFile(path, []byte(k.Secret), 0o600)
}
