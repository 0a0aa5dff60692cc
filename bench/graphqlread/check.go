package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

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
` + pageInfoSelection + `  }
}`

const pageInfoSelection = "    pageInfo { endCursor hasNextPage }\n"

// countQuery is the COUNT that entgql's Paginate runs before the page
// whenever a query selects pageInfo or totalCount (as ent logs it, quoting
// aside); the plain handler learns hasNextPage from the extra row instead.
const countQuery = `SELECT COUNT(messages.id) FROM messages
WHERE EXISTS (SELECT mailboxes.id FROM mailboxes
		WHERE messages.mailbox_id = mailboxes.id AND mailboxes.name = ?)
	AND messages.organization_id = ?`

// graphQLBody returns the JSON request body of the GraphQL clients, with
// or without the pageInfo selection.
func graphQLBody(pageInfo bool) []byte {
	q := graphQLQuery
	if !pageInfo {
		q = strings.Replace(q, pageInfoSelection, "", 1)
	}
	b, err := json.Marshal(map[string]any{
		"query":     q,
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

// validate fetches one page from a GraphQL target and from the plain one
// and fails unless both hold the same full page of rows in the same order.
// It returns the sizes of both bodies.
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
		return 0, 0, fmt.Errorf("decode %s response: %w", gql.name, err)
	}
	if len(gr.Errors) > 0 {
		return 0, 0, fmt.Errorf("%s: GraphQL errors: %+v", gql.name, gr.Errors)
	}
	var pr page
	if err := json.Unmarshal(pb.Bytes(), &pr); err != nil {
		return 0, 0, fmt.Errorf("decode plain response: %w", err)
	}

	got := make([]message, 0, len(gr.Data.Messages.Edges))
	for _, e := range gr.Data.Messages.Edges {
		got = append(got, e.Node)
	}
	gp := gr.Data.Messages.PageInfo
	switch {
	case len(got) != want || len(pr.Messages) != want:
		return 0, 0, fmt.Errorf("%w: %d %s rows and %d plain rows, want %d",
			errMismatch, len(got), gql.name, len(pr.Messages), want)
	case gql.pageInfo && (gp.HasNextPage != pr.PageInfo.HasNextPage || gp.EndCursor == nil):
		return 0, 0, fmt.Errorf("%w: %s pageInfo %+v, plain %+v", errMismatch, gql.name, gp, pr.PageInfo)
	}
	if d := cmp.Diff(pr.Messages, got); d != "" {
		return 0, 0, fmt.Errorf("%w (-plain +%s):\n%s", errMismatch, gql.name, d)
	}
	return gb.Len(), pb.Len(), nil
}

// allocs are the heap allocations of one request, handler alone.
type allocs struct {
	objects, bytes float64
}

// measureAllocs serves n requests to t's handler directly, one after
// another and with no network or client in between, and returns the heap
// allocations per request. The requests are built beforehand so that only
// serving is counted; the writer discards the body. With profile set, it
// also writes heap profiles from just before and just after the loop, whose
// difference is the loop's allocations.
func measureAllocs(ctx context.Context, t *target, n int, profile string) (allocs, error) {
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
		if err := serveDiscard(t.handler, r); err != nil {
			return allocs{}, err
		}
	}

	var before, after runtime.MemStats
	if profile != "" {
		runtime.MemProfileRate = 512
		defer func() { runtime.MemProfileRate = 512 * 1024 }()
		if err := writeHeapProfile(profile + "-" + t.name + ".base.pprof"); err != nil {
			return allocs{}, err
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, r := range reqs[warm:] {
		if err := serveDiscard(t.handler, r); err != nil {
			return allocs{}, err
		}
	}
	runtime.ReadMemStats(&after)
	if profile != "" {
		if err := writeHeapProfile(profile + "-" + t.name + ".pprof"); err != nil {
			return allocs{}, err
		}
	}
	return allocs{
		objects: float64(after.Mallocs-before.Mallocs) / float64(n),
		bytes:   float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
	}, nil
}

// writeHeapProfile writes the allocations sampled so far, after a GC so
// that the profile is current.
func writeHeapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
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
