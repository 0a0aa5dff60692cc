package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

func TestDownload_Raw(t *testing.T) {
	e, a, _ := messageTenants(t)
	id := seed(t, e, a, a.Inbox, multipart())

	r := download(t, e, a.Token, "/messages/"+id+"/raw")
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, []byte(multipartRaw)) {
		t.Fatalf("status %d, %d bytes; want 200 and the raw message", r.Status, len(r.Body))
	}
	want := map[string]string{
		"Content-Type":           "message/rfc822",
		"Content-Disposition":    `attachment; filename=` + id + `.eml`,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "private, no-store",
	}
	if diff := cmp.Diff(want, headerSubset(r.Header, want)); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	// HEAD and ranges work as for any file.
	part := send(t, e, http.MethodGet, "/messages/"+id+"/raw",
		http.Header{"Authorization": {"Bearer " + a.Token}, "Range": {"bytes=0-3"}}, nil)
	if part.Status != http.StatusPartialContent || string(part.Body) != "From" {
		t.Errorf("range: status %d, body %q", part.Status, part.Body)
	}
}

func TestDownload_Attachments(t *testing.T) {
	e, a, _ := messageTenants(t)
	id := seed(t, e, a, a.Inbox, multipart())
	base := "/messages/" + id + "/attachments/"

	tests := []struct {
		index                  string
		body, typ, disposition string
	}{
		// Active content is never served as itself.
		{"0", "<script>alert(1)</script>", "application/octet-stream",
			`attachment; filename=evil.html`},
		{"1", "\x89PNG\r\n\x1a\n", "image/png", `attachment; filename=logo.png`},
		// The recorded type has no parameters, so no charset.
		{"2", "plain file", "text/plain",
			`attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt`},
	}
	for _, tc := range tests {
		t.Run(tc.index, func(t *testing.T) {
			r := download(t, e, a.Token, base+tc.index)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.Status, r.Body)
			}
			if got := string(r.Body); got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
			want := map[string]string{
				"Content-Type":            tc.typ,
				"Content-Disposition":     tc.disposition,
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'none'; sandbox",
			}
			if diff := cmp.Diff(want, headerSubset(r.Header, want)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDownload_Errors(t *testing.T) {
	e, a, b := messageTenants(t)
	id := seed(t, e, a, a.Inbox, multipart())
	sendOnly := e.Token(t, pulid.ID(a.Org), "send")

	tests := []struct {
		name, bearer, path string
		status             int
		code               string
	}{
		{"no token", "", "/messages/" + id + "/raw", 401, "UNAUTHENTICATED"},
		{"bad token", "nonsense", "/messages/" + id + "/attachments/0", 401, "UNAUTHENTICATED"},
		{"other organization", b.Token, "/messages/" + id + "/raw", 404, "NOT_FOUND"},
		{"other organization's attachment", b.Token, "/messages/" + id + "/attachments/1",
			404, "NOT_FOUND"},
		{"unknown id", a.Token, "/messages/msg_01ARZ3NDEKTSV4RRFFQ69G5FAV/raw", 404, "NOT_FOUND"},
		{"not an id", a.Token, "/messages/nonsense/raw", 404, "NOT_FOUND"},
		{"no such attachment", a.Token, "/messages/" + id + "/attachments/3", 404, "NOT_FOUND"},
		{"bad index", a.Token, "/messages/" + id + "/attachments/x", 400, "BAD_USER_INPUT"},
		{"negative index", a.Token, "/messages/" + id + "/attachments/-1", 400, "BAD_USER_INPUT"},
		{"no read scope", sendOnly, "/messages/" + id + "/raw", 403, "FORBIDDEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := download(t, e, tc.bearer, tc.path)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d (body %s)", r.Status, tc.status, r.Body)
			}
			if bytes.Contains(r.Body, []byte("Quarterly")) || bytes.Contains(r.Body, []byte("script")) {
				t.Errorf("error body leaks the message: %s", r.Body)
			}
			resp := struct {
				Errors []struct{ Extensions struct{ Code string } }
			}{}
			if err := jsonDecode(r.Body, &resp); err != nil || len(resp.Errors) == 0 ||
				resp.Errors[0].Extensions.Code != tc.code {
				t.Errorf("body %s, want a %s error", r.Body, tc.code)
			}
		})
	}
}

// headerSubset returns the values in h of the keys of want.
func headerSubset(h http.Header, want map[string]string) map[string]string {
	out := make(map[string]string, len(want))
	for k := range want {
		out[k] = h.Get(k)
	}
	return out
}
