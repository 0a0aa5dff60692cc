package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/server/servertest"
)

func TestHTTP_Probes(t *testing.T) {
	e := servertest.New(t, nil)
	tests := []struct {
		path string
		body string
	}{
		{"/healthz", "ok\n"},
		{"/readyz", "ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := get(t, e, tc.path)
			if r.Status != http.StatusOK || string(r.Body) != tc.body {
				t.Errorf("GET %s = %d %q, want 200 %q", tc.path, r.Status, r.Body, tc.body)
			}
		})
	}
}

func TestHTTP_ReadyzFailsWithoutDatabase(t *testing.T) {
	e := servertest.New(t, nil)
	if err := e.App.DB.Close(); err != nil {
		t.Fatal(err)
	}
	if r := get(t, e, "/readyz"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz = %d %q, want 503", r.Status, r.Body)
	}
	if r := get(t, e, "/healthz"); r.Status != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200: liveness does not depend on the database", r.Status)
	}
}

func TestHTTP_Metrics(t *testing.T) {
	e := servertest.New(t, nil)
	get(t, e, "/healthz")
	get(t, e, "/no/such/path/a1b2c3")
	e.Do(t, "", whoAmI, nil) // 401

	r := get(t, e, "/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		"lightr_http_requests_total",
		`lightr_http_requests_total{code="200",route="GET /healthz"} 1`,
		`lightr_http_requests_total{code="401",route="POST /graphql"} 1`,
		`route="unmatched"`,
		"lightr_http_request_duration_seconds",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Raw paths would let any client mint label values.
	if strings.Contains(body, "a1b2c3") {
		t.Error("/metrics labels a request by its raw path")
	}
}

func TestHTTP_JWKS(t *testing.T) {
	e := servertest.New(t, nil)
	r := get(t, e, "/.well-known/jwks.json")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /.well-known/jwks.json = %d", r.Status)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1: %s", len(set.Keys), r.Body)
	}
	got := set.Keys[0]
	want := map[string]string{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
		"kid": e.App.Keys.KeyID(), "x": got["x"],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JWK (-want +got):\n%s", diff)
	}
	if got["x"] == "" {
		t.Error("JWK has no public key")
	}
}
