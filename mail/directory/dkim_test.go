package directory_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
	"github.com/lightr-mail/lightr/server/db"
)

// keyNames renders keys as algorithm/selector@domain, for comparison.
func keyNames(keys []dkim.SigningKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.Algorithm+"/"+k.Selector+"@"+k.Domain)
	}
	return out
}

func TestSigningKeys_Selection(t *testing.T) {
	admin := viewer.AdminContext(context.Background())
	d, err := db.Open(admin, db.Options{Path: filepath.Join(t.TempDir(), "lightr.db")})
	check(t, err)
	t.Cleanup(func() { _ = d.Close() })
	org, err := d.Organization.Create().SetName("A").Save(admin)
	check(t, err)
	dom, err := directory.CreateDomain(admin, d.Client, &org.ID, ent.CreateDomainInput{Name: "a.example"})
	check(t, err)

	// The worker asks without a viewer, by id or by name.
	sys := context.Background()
	want := func(step string, names ...string) {
		t.Helper()
		for _, by := range []string{string(dom.ID), "A.Example"} {
			keys, err := directory.SigningKeys(sys, d.Client, by)
			if err != nil {
				t.Fatalf("%s, by %s: %v", step, by, err)
			}
			if diff := cmp.Diff(append([]string{}, names...), keyNames(keys)); diff != "" {
				t.Errorf("%s, by %s (-want +got):\n%s", step, by, diff)
			}
		}
	}
	add := func(selector, alg string) *ent.DKIMKey {
		t.Helper()
		dom, err = d.Domain.Get(admin, dom.ID)
		check(t, err)
		k, err := directory.AddDKIMKey(admin, d.Client, dom, selector, alg, 1024)
		check(t, err)
		return k
	}

	want("no key")
	add("s1", dkim.RSA)
	want("one key", "rsa/s1@a.example")
	if _, err := directory.AddDKIMKey(admin, d.Client, dom, "s1", dkim.Ed25519, 0); err == nil {
		t.Error("a second key under selector s1 was accepted")
	}
	add("s1-ed", dkim.Ed25519)
	want("both algorithms", "rsa/s1@a.example", "ed25519/s1-ed@a.example")

	// A rotation to s2 moves the domain's selector; the Ed25519 key stays
	// in use until it has a successor.
	s2 := add("s2", dkim.RSA)
	want("rotated", "rsa/s2@a.example", "ed25519/s1-ed@a.example")
	check(t, d.DKIMKey.UpdateOneID(s2.ID).SetActive(false).Exec(admin))
	want("new key withdrawn", "rsa/s1@a.example", "ed25519/s1-ed@a.example")

	// The keys sign.
	keys, err := directory.SigningKeys(sys, d.Client, "a.example")
	check(t, err)
	if _, err := dkim.Sign([]byte("From: x@a.example\r\n\r\nhi\r\n"), keys); err != nil {
		t.Fatal(err)
	}

	// A stored key that does not parse fails the lookup, never drops out.
	_, err = d.Driver.ExecContext(admin, "UPDATE dkim_keys SET private_key = x'00' WHERE selector = 's1'")
	check(t, err)
	if keys, err := directory.SigningKeys(sys, d.Client, "a.example"); err == nil {
		t.Errorf("corrupt key: got %v and no error", keys)
	}
	if _, err := directory.SigningKeys(sys, d.Client, "unknown.example"); !ent.IsNotFound(err) {
		t.Errorf("unknown domain: %v", err)
	}
}
