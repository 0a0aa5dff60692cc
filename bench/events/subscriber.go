package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// receipt is one event as one subscriber got it: its seq (the cursor) and
// the time its frame had been read, in ns since the run's clock started.
type receipt struct {
	seq int64
	at  int64
}

// subscriber is one WebSocket connection (graphql-transport-ws) with one
// events subscription. Only its goroutine appends to got.
type subscriber struct {
	conn  *websocket.Conn
	got   []receipt
	count atomic.Int64
	last  atomic.Int64 // highest seq so far
	err   error        // why the stream ended early, if it did
	done  chan struct{}
}

// message is a graphql-transport-ws message.
type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribe opens one connection, authenticates in connection_init,
// starts the subscription and reads until ctx ends.
func subscribe(ctx context.Context, addr, token, query string, clock time.Time) (*subscriber, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, "ws://"+addr+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := write(dctx, c, message{Type: "connection_init", Payload: init}); err != nil {
		return nil, err
	}
	var ack message
	if err := read(dctx, c, &ack); err != nil || ack.Type != "connection_ack" {
		return nil, fmt.Errorf("connection_init: got %q: %w", ack.Type, err)
	}
	q, _ := json.Marshal(map[string]string{"query": query})
	if err := write(dctx, c, message{ID: "1", Type: "subscribe", Payload: q}); err != nil {
		return nil, err
	}
	s := &subscriber{conn: c, done: make(chan struct{})}
	go s.run(ctx, clock)
	return s, nil
}

var cursorKey = []byte(`"cursor":"`)

// run reads frames until ctx ends. It takes the time as soon as a frame
// has been read and finds the cursor with a byte search rather than a
// JSON decode: this client shares the machine's cores with the server,
// and 100,000 frames a second are the bulk of its work.
func (s *subscriber) run(ctx context.Context, clock time.Time) {
	defer close(s.done)
	var buf bytes.Buffer
	for {
		_, r, err := s.conn.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.err = err
			}
			return
		}
		at := time.Since(clock).Nanoseconds()
		b := buf.Bytes()
		if i := bytes.Index(b, cursorKey); i >= 0 {
			rest := b[i+len(cursorKey):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				seq, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
				s.got = append(s.got, receipt{seq: seq, at: at})
				s.count.Add(1)
				s.last.Store(seq)
				continue
			}
		}
		if !s.control(ctx, b) {
			return
		}
	}
}

// control handles a frame that carries no event: it answers pings and
// reports whether the stream goes on.
func (s *subscriber) control(ctx context.Context, b []byte) bool {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		s.err = fmt.Errorf("frame %.200q: %w", b, err)
		return false
	}
	switch m.Type {
	case "ping":
		if err := write(ctx, s.conn, message{Type: "pong"}); err != nil && ctx.Err() == nil {
			s.err = err
			return false
		}
		return true
	case "pong":
		return true
	default: // error (SLOW_CONSUMER among them), complete, or anything else
		s.err = fmt.Errorf("%s: %.300s", m.Type, m.Payload)
		return false
	}
}

func write(ctx context.Context, c *websocket.Conn, m message) error {
	b, _ := json.Marshal(m)
	return c.Write(ctx, websocket.MessageText, b)
}

func read(ctx context.Context, c *websocket.Conn, m *message) error {
	_, b, err := c.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, m)
}

// subscribeAll opens n subscribers, at most 32 handshakes at a time.
func subscribeAll(ctx context.Context, n int, addr, token, query string, clock time.Time) ([]*subscriber, error) {
	subs := make([]*subscriber, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			subs[i], errs[i] = subscribe(ctx, addr, token, query, clock)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
	}
	return subs, nil
}
