package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"

	"github.com/google/go-cmp/cmp"
)

// pageSize is the number of messages both endpoints return per request.
const pageSize = 50

// graphQLQuery asks for the fields the plain handler returns. It is sent
// unchanged on every request, so gqlgen parses and validates it once and
// then takes it from its query cache.
const graphQLQuery = `query Inbox($first: Int!, $mailbox: String!) {
  messages(
    first: $first
    orderBy: {field: INTERNAL_DATE, direction: DESC}
    where: {hasMailboxWith: [{name: $mailbox}]}
  ) {
    edges {
      node {
        id uid subject fromAddress fromName toAddresses preview size internalDate seen flagged
      }
    }
    pageInfo { endCursor hasNextPage }
  }
}`

// graphQLBody returns the JSON request body of the GraphQL clients.
func graphQLBody() []byte {
	b, err := json.Marshal(map[string]any{
		"query":     graphQLQuery,
		"variables": map[string]any{"first": pageSize, "mailbox": "INBOX"},
	})
	if err != nil {
		panic(err) // constant input
	}
	return b
}

// graphQLResponse is the shape of the GraphQL answer.
type graphQLResponse struct {
	Data struct {
		Messages struct {
			Edges []struct {
				Node message `json:"node"`
			} `json:"edges"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"messages"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// errMismatch is returned when the endpoints disagree, which would make
// the comparison meaningless.
var errMismatch = errors.New("graphqlread: the endpoints return different rows")

// validate fetches one page from each endpoint and fails unless both hold
// the same full page of rows in the same order. It returns the body sizes.
func validate(ctx context.Context, c *http.Client, gql, plain *target, want int) (int, int, error) {
	var gb, pb bytes.Buffer
	if _, err := gql.do(ctx, c, &gb); err != nil {
		return 0, 0, err
	}
	if _, err := plain.do(ctx, c, &pb); err != nil {
		return 0, 0, err
	}

	var gr graphQLResponse
	if err := json.Unmarshal(gb.Bytes(), &gr); err != nil {
		return 0, 0, fmt.Errorf("decode GraphQL response: %w", err)
	}
	if len(gr.Errors) > 0 {
		return 0, 0, fmt.Errorf("GraphQL errors: %+v", gr.Errors)
	}
	var pr page
	if err := json.Unmarshal(pb.Bytes(), &pr); err != nil {
		return 0, 0, fmt.Errorf("decode plain response: %w", err)
	}

	got := make([]message, 0, len(gr.Data.Messages.Edges))
	for _, e := range gr.Data.Messages.Edges {
		got = append(got, e.Node)
	}
	switch {
	case len(got) != want || len(pr.Messages) != want:
		return 0, 0, fmt.Errorf("%w: %d GraphQL rows and %d plain rows, want %d",
			errMismatch, len(got), len(pr.Messages), want)
	case gr.Data.Messages.PageInfo.HasNextPage != pr.PageInfo.HasNextPage:
		return 0, 0, fmt.Errorf("%w: hasNextPage %v (GraphQL) vs %v (plain)", errMismatch,
			gr.Data.Messages.PageInfo.HasNextPage, pr.PageInfo.HasNextPage)
	}
	if d := cmp.Diff(pr.Messages, got); d != "" {
		return 0, 0, fmt.Errorf("%w (-plain +GraphQL):\n%s", errMismatch, d)
	}
	return gb.Len(), pb.Len(), nil
}

// allocs are the heap allocations of one request, handler alone.
type allocs struct {
	objects, bytes float64
}

// measureAllocs serves n requests to h directly, one after another and
// with no network or client in between, and returns the heap allocations
// per request. The requests are built beforehand so that only serving is
// counted; the writer discards the body.
func measureAllocs(ctx context.Context, h http.Handler, t *target, n int) (allocs, error) {
	const warm = 20
	reqs := make([]*http.Request, n+warm)
	for i := range reqs {
		r, err := t.newRequest(ctx)
		if err != nil {
			return allocs{}, err
		}
		// An in-process request has no RequestURI; the mux wants a path.
		r.RequestURI = r.URL.RequestURI()
		reqs[i] = r
	}
	for _, r := range reqs[:warm] {
		if err := serveDiscard(h, r); err != nil {
			return allocs{}, err
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, r := range reqs[warm:] {
		if err := serveDiscard(h, r); err != nil {
			return allocs{}, err
		}
	}
	runtime.ReadMemStats(&after)
	return allocs{
		objects: float64(after.Mallocs-before.Mallocs) / float64(n),
		bytes:   float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
	}, nil
}

func serveDiscard(h http.Handler, r *http.Request) error {
	w := &discardWriter{header: http.Header{}, code: http.StatusOK}
	h.ServeHTTP(w, r)
	if w.code != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", r.Method, r.URL, w.code)
	}
	return nil
}

// discardWriter is a ResponseWriter that keeps only the status code.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
