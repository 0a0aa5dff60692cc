package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"
)

// target is one endpoint under load, with the request its clients send.
type target struct {
	name    string
	method  string
	url     string
	body    []byte // nil for GET
	token   string
	handler http.Handler // what serves url, for the allocation count

	// graphQL marks a GraphQL query, and pageInfo whether it asks for the
	// connection's pageInfo.
	graphQL, pageInfo bool
}

func (t *target) newRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if t.body != nil {
		body = bytes.NewReader(t.body)
	}
	req, err := http.NewRequestWithContext(ctx, t.method, t.url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	if t.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends one request and reads the whole response, returning the number
// of body bytes. A status other than 200 is an error.
func (t *target) do(ctx context.Context, c *http.Client, into io.Writer) (int64, error) {
	req, err := t.newRequest(ctx)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = res.Body.Close() }()
	n, err := io.Copy(into, res.Body)
	if err != nil {
		return n, err
	}
	if res.StatusCode != http.StatusOK {
		return n, fmt.Errorf("%s: status %s", t.name, res.Status)
	}
	return n, nil
}

// newClient returns an HTTP client that keeps one connection per
// concurrent worker alive, so that the measurement sees no TCP handshakes.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        2 * clients,
			MaxIdleConnsPerHost: clients,
			MaxConnsPerHost:     clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// phase is one measured stretch of load on one target.
type phase struct {
	target   string
	round    int
	lat      []time.Duration
	bytes    int64
	errs     int
	firstErr error
	elapsed  time.Duration
	cpu      time.Duration // CPU time of the whole process, clients included
	mallocs  uint64        // heap allocations of the whole process, clients included
}

// maxErrors ends a phase early: a benchmark of a failing endpoint is
// meaningless, and a refused connection would otherwise spin.
const maxErrors = 100

// runLoad keeps clients workers sending requests to t, each waiting for
// its answer before sending the next, until d has passed, and records
// every latency.
func runLoad(ctx context.Context, c *http.Client, t *target, clients int, d time.Duration) *phase {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		p        = &phase{target: t.name}
		ms0, ms1 runtime.MemStats
	)
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	for range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			var n int64
			var errs int
			var firstErr error
			for errs < maxErrors && time.Now().Before(deadline) {
				t0 := time.Now()
				k, err := t.do(ctx, c, io.Discard)
				if err != nil {
					errs++
					firstErr = cmpOr(firstErr, err)
					continue
				}
				lat = append(lat, time.Since(t0))
				n += k
			}
			mu.Lock()
			defer mu.Unlock()
			p.lat = append(p.lat, lat...)
			p.bytes += n
			p.errs += errs
			p.firstErr = cmpOr(p.firstErr, firstErr)
		})
	}
	wg.Wait()
	p.elapsed = time.Since(start)
	p.cpu = cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	p.mallocs = ms1.Mallocs - ms0.Mallocs
	slices.Sort(p.lat)
	return p
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// stats summarize one or more phases of a target.
type stats struct {
	requests           int
	rps                float64
	p50, p90, p99, max time.Duration
	bytesPerResp       float64
	mallocsPerReq      float64
	cpuPerReq          time.Duration
}

// summarize merges phases of one target.
func summarize(phases ...*phase) stats {
	var (
		lat     []time.Duration
		elapsed time.Duration
		bytes   int64
		mallocs uint64
		cpu     time.Duration
	)
	for _, p := range phases {
		cpu += p.cpu
		lat = append(lat, p.lat...)
		elapsed += p.elapsed
		bytes += p.bytes
		mallocs += p.mallocs
	}
	slices.Sort(lat)
	s := stats{requests: len(lat)}
	if len(lat) == 0 || elapsed <= 0 {
		return s
	}
	s.rps = float64(len(lat)) / elapsed.Seconds()
	s.p50 = percentile(lat, 50)
	s.p90 = percentile(lat, 90)
	s.p99 = percentile(lat, 99)
	s.max = lat[len(lat)-1]
	s.bytesPerResp = float64(bytes) / float64(len(lat))
	s.mallocsPerReq = float64(mallocs) / float64(len(lat))
	s.cpuPerReq = cpu / time.Duration(len(lat))
	return s
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value that at least p% of the values do not exceed. Integer
// arithmetic keeps 0.99×100 from rounding up to rank 100.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
