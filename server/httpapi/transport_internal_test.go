package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The response writer must produce exactly what encoding/json, which
// gqlgen's transport uses, makes of the same response.
func TestWriteResponse_MatchesEncodingJSON(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		resp *graphql.Response
	}{
		{"data only", &graphql.Response{Data: json.RawMessage(`{"a":"b","n":[1,2]}`)}},
		{"no data", &graphql.Response{}},
		{"escapes", &graphql.Response{Data: json.RawMessage(
			`{"s":"<b>Tom & Jerry</b> \u2028 line` + "\u2028\u2029" + ` € é \"q\""}`)}},
		{"errors", &graphql.Response{
			Errors: gqlerror.List{{
				Message:    "forbidden <here>",
				Path:       ast.Path{ast.PathName("messages"), ast.PathIndex(3)},
				Extensions: map[string]any{"code": CodeForbidden},
			}},
			Data: json.RawMessage(`{"messages":null}`),
		}},
		{"all fields", &graphql.Response{
			Data:       json.RawMessage(`null`),
			Label:      "l",
			Path:       ast.Path{ast.PathName("x")},
			HasNext:    &yes,
			Extensions: map[string]any{"k": []int{1}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			writeResponse(rec, http.StatusOK, tc.resp)
			if got := rec.Body.String(); got != string(want) {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				t.Errorf("Content-Length = %s, want %d", cl, len(want))
			}
		})
	}
}

func TestResponseMedia(t *testing.T) {
	tests := []struct{ accept, want string }{
		{"", mediaJSON},
		{"*/*", mediaJSON},
		{"application/json", mediaJSON},
		{"application/graphql-response+json, application/json", mediaGraphQLResponse},
		{"text/html, application/*;q=0.9", mediaJSON},
		{"text/html", mediaGraphQLResponse},
	}
	for _, tc := range tests {
		if got := responseMedia(tc.accept); got != tc.want {
			t.Errorf("responseMedia(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}
