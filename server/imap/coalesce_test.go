package imap

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pipe returns a coalescingConn and the peer end, with the peer's reads
// collected on a channel.
func pipe(t *testing.T) (*coalescingConn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return newCoalescingConn(a), b
}

// readAvailable reads what the peer receives within d.
func readAvailable(t *testing.T, peer net.Conn, d time.Duration) []byte {
	t.Helper()
	_ = peer.SetReadDeadline(time.Now().Add(d))
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := peer.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got
		}
	}
}

func TestCoalescingConnHoldsUntilFlush(t *testing.T) {
	c, peer := pipe(t)
	for range 3 {
		if _, err := c.Write([]byte("* 1 FETCH (UID 1)\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAvailable(t, peer, 50*time.Millisecond); len(got) != 0 {
		t.Fatalf("sent %q before a flush", got)
	}
	done := make(chan []byte)
	go func() { done <- readAvailable(t, peer, time.Second) }()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := <-done, bytes.Repeat([]byte("* 1 FETCH (UID 1)\r\n"), 3); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCoalescingConnFlushesBeforeRead(t *testing.T) {
	c, peer := pipe(t)
	if _, err := c.Write([]byte("+ idling\r\n")); err != nil {
		t.Fatal(err)
	}
	// The client answers only what it has seen, as a client does.
	go func() {
		line := make([]byte, len("+ idling\r\n"))
		if _, err := io.ReadFull(peer, line); err == nil && string(line) == "+ idling\r\n" {
			_, _ = peer.Write([]byte("DONE\r\n"))
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "DONE\r\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
}

func TestCoalescingConnLargeWrites(t *testing.T) {
	c, peer := pipe(t)
	small := bytes.Repeat([]byte("a"), 1000)
	large := bytes.Repeat([]byte("b"), coalesceBytes+1)
	done := make(chan []byte)
	go func() { done <- readAvailable(t, peer, 500*time.Millisecond) }()
	// The held bytes go out, in order, before a write that does not fit.
	for _, p := range [][]byte{small, large} {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := <-done, append(small, large...); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d in order", len(got), len(want))
	}
}

func TestCoalescingConnCloseFlushes(t *testing.T) {
	c, peer := pipe(t)
	if _, err := c.Write([]byte("* BYE shutting down\r\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() { done <- readAvailable(t, peer, time.Second) }()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-done; string(got) != "* BYE shutting down\r\n" {
		t.Fatalf("got %q", got)
	}
}

// TestCoalescingConnDeadline checks that held bytes keep the deadline of
// their write: a client that does not read fails the flush in time, and the
// error comes back from the next call.
func TestCoalescingConnDeadline(t *testing.T) {
	c, _ := pipe(t) // nobody reads
	_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Write([]byte("* 1 EXISTS\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	start := time.Now()
	err := c.Flush()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Flush took %v", d)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write after a failed flush = %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after a failed flush = %v", err)
	}
}

func TestFlushConnThroughTLS(t *testing.T) {
	c, peer := pipe(t)
	if err := flushConn(wrapped{c}); err != nil {
		t.Fatal(err)
	}
	if err := flushConn(peer); err != nil {
		t.Fatalf("flushConn of a plain conn = %v", err)
	}
	if _, err := c.Write([]byte("* 2 EXISTS\r\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() { done <- readAvailable(t, peer, time.Second) }()
	if err := flushConn(wrapped{c}); err != nil {
		t.Fatal(err)
	}
	if got := <-done; string(got) != "* 2 EXISTS\r\n" {
		t.Fatalf("got %q", got)
	}
}

// wrapped stands for a *tls.Conn: a conn with a NetConn method.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }
