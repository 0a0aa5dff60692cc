package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Media types of GraphQL responses over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// postTransport serves GraphQL over HTTP POST with a JSON body, as
// gqlgen's transport.POST does (the same media types, status codes and
// error messages), but writes the response itself. gqlgen encodes the
// response with encoding/json, which validates and copies the whole data
// object a second time after gqlgen has written it: a tenth of the CPU of
// a page of messages (docs/PERFORMANCE.md). Here the data is copied once,
// into a pooled buffer, escaped as encoding/json would escape it, and sent
// with its length.
type postTransport struct{}

var _ graphql.Transport = postTransport{}

// Supports implements graphql.Transport.
func (postTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && media == mediaJSON
}

// Do implements graphql.Transport.
func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media)
	start := graphql.Now()

	body, err := io.ReadAll(r.Body)
	if err != nil {
		errs := gqlerror.List{gqlerror.Errorf("could not read request body: %+v", err)}
		writeResponse(w, http.StatusOK, exec.DispatchError(ctx, errs))
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		errs := gqlerror.List{gqlerror.Errorf(
			"json request body could not be decoded: %+v body:%s", err, body)}
		writeResponse(w, http.StatusBadRequest, exec.DispatchError(ctx, errs))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	op, errs := exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		// A request that is not GraphQL at all is the client's protocol
		// error; anything else is an ordinary response with errors.
		status := http.StatusOK
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
			if media == mediaGraphQLResponse {
				status = http.StatusBadRequest
			}
		}
		writeResponse(w, status, exec.DispatchError(graphql.WithOperationContext(ctx, op), errs))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, op)
	writeResponse(w, http.StatusOK, responses(ctx))
}

// responseMedia picks the response's media type from the request's
// Accept header: the first of ours that it names, application/json for
// none or a wildcard, and application/graphql-response+json otherwise.
func responseMedia(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		media, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch media {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// responseBuffers recycles response bodies; one holds a page of messages.
var responseBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledResponse keeps rare huge responses from staying in the pool.
const maxPooledResponse = 1 << 20

// writeResponse writes resp as encoding/json would encode it, fields in
// the same order, with its Content-Length.
func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response) {
	bp := responseBuffers.Get().(*[]byte)
	b, err := appendResponse((*bp)[:0], resp)
	if err != nil {
		// Only a value in errors or extensions that cannot be encoded
		// gets here, which gqlgen's own encoder refuses with a panic.
		b = append(b[:0], `{"errors":[{"message":"internal error: response not encodable"}],"data":null}`...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	_, _ = w.Write(b)
	if cap(b) <= maxPooledResponse {
		*bp = b
		responseBuffers.Put(bp)
	}
}

// appendResponse appends the JSON encoding of resp to b.
func appendResponse(b []byte, resp *graphql.Response) ([]byte, error) {
	b = append(b, '{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			return b, err
		}
		b = append(append(append(b, `"errors":`...), errs...), ',')
	}
	b = append(b, `"data":`...)
	if len(resp.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = appendHTMLSafe(b, resp.Data)
	}
	if resp.Label == "" && len(resp.Path) == 0 && resp.HasNext == nil && len(resp.Extensions) == 0 {
		return append(b, '}'), nil
	}
	rest := []struct {
		key   string
		value any
		set   bool
	}{
		{"label", resp.Label, resp.Label != ""},
		{"path", resp.Path, len(resp.Path) > 0},
		{"hasNext", resp.HasNext, resp.HasNext != nil},
		{"extensions", resp.Extensions, len(resp.Extensions) > 0},
	}
	for _, f := range rest {
		if !f.set {
			continue
		}
		v, err := json.Marshal(f.value)
		if err != nil {
			return b, err
		}
		b = append(append(append(append(b, ",\""...), f.key...), "\":"...), v...)
	}
	return append(b, '}'), nil
}

// appendHTMLSafe appends the JSON text data to b with <, >, & and the
// line and paragraph separators U+2028 and U+2029 escaped, as
// encoding/json escapes a json.RawMessage. In JSON these bytes occur only
// inside strings, so the escapes keep the text's meaning.
func appendHTMLSafe(b, data []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			b = append(b, data[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			start = i + 1
		case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && data[i+2]&^1 == 0xa8:
			b = append(b, data[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[data[i+2]&0xf])
			i += 2
			start = i + 1
		}
	}
	return append(b, data[start:]...)
}
