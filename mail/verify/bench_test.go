package verify_test

import (
	"context"
	"net"
	"testing"

	"github.com/lightr-mail/lightr/mail/verify"
)

// BenchmarkVerify_WarmCache measures a whole verification once every DNS
// answer is cached: the cost left is parsing, hashing and the signature
// check.
func BenchmarkVerify_WarmCache(b *testing.B) {
	f := newFixture(b)
	rsaKey, edKey := keys(b)
	plain := message("Alice <alice@example.com>", body)

	for _, bc := range []struct {
		name string
		raw  []byte
	}{
		{"Unsigned", plain},
		{"RSA2048", signGo(b, plain, "example.com", "rsa", rsaKey)},
		{"Ed25519", signGo(b, plain, "example.com", "ed", edKey)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := verify.Input{RemoteIP: net.ParseIP("127.0.0.1"), MailFrom: "alice@example.com", Raw: bc.raw}
			ctx := context.Background()
			if res := f.v.Verify(ctx, in); res.DMARC != verify.ResultPass {
				b.Fatalf("warm-up: DMARC = %s\n%s", res.DMARC, res.Header)
			}
			queries := f.srv.TotalQueries()

			b.ReportAllocs()
			for b.Loop() {
				f.v.Verify(ctx, in)
			}
			if n := f.srv.TotalQueries(); n != queries {
				b.Errorf("%d DNS queries with a warm cache", n-queries)
			}
		})
	}
}
