package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// send is one sendEmail mutation: when its request began to go out and
// when its response had been read (ns on the run's clock), and the id of
// the OutboundMessage, which is the messageId of its message.queued event.
type send struct {
	start, end int64
	id         string
}

// generator posts sendEmail mutations at a fixed rate, open loop: a slow
// response does not delay the next send.
type generator struct {
	addr, token string
	clock       time.Time
	client      *http.Client
	failed      atomic.Int64

	mu       sync.Mutex
	sends    []send
	firstErr error
}

func newGenerator(addr, token string, clock time.Time) *generator {
	return &generator{addr: addr, token: token, clock: clock, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}
}

const sendMutation = `mutation($in: SendEmailInput!) { sendEmail(input: $in) { id } }`

// run sends at rate per second for d, at most 64 at a time, and waits
// for the last response.
func (g *generator) run(ctx context.Context, rate float64, d time.Duration) {
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; ; i++ {
		next := begin.Add(time.Duration(i) * interval)
		if next.Sub(begin) >= d || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := g.one(ctx, i); err != nil {
				g.failed.Add(1)
				g.mu.Lock()
				g.firstErr = cmp.Or(g.firstErr, err)
				g.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// one posts one sendEmail from bench@bench.test to itself: a hosted
// recipient, so that the message stays on the machine.
func (g *generator) one(ctx context.Context, i int) error {
	body, _ := json.Marshal(map[string]any{"query": sendMutation, "variables": map[string]any{
		"in": map[string]any{
			"from": "bench@bench.test", "to": []string{"bench@bench.test"},
			"subject": fmt.Sprintf("bench %d", i), "text": "A message of the events benchmark.\n",
		},
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+g.addr+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Since(g.clock).Nanoseconds()
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var res struct {
		Data struct {
			SendEmail struct{ ID string } `json:"sendEmail"`
		}
		Errors []any
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	end := time.Since(g.clock).Nanoseconds()
	if err != nil || len(res.Errors) > 0 || res.Data.SendEmail.ID == "" {
		return fmt.Errorf("sendEmail: %w (errors: %v)", err, res.Errors)
	}
	g.mu.Lock()
	g.sends = append(g.sends, send{start: start, end: end, id: res.Data.SendEmail.ID})
	g.mu.Unlock()
	return nil
}
