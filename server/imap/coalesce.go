package imap

import (
	"net"
	"sync"
	"time"
)

// coalesceBytes is how much a coalescingConn holds before it writes.
const coalesceBytes = 32 << 10

// coalesceBufs are the buffers of connections that hold bytes. A
// connection gives its buffer back whenever it waits for the client, so
// that an idle connection holds none.
var coalesceBufs = sync.Pool{New: func() any { b := make([]byte, 0, coalesceBytes); return &b }}

// coalescingListener wraps every accepted connection in a coalescingConn.
type coalescingListener struct {
	net.Listener
}

// Accept implements net.Listener.
func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newCoalescingConn(c), nil
}

// coalescingConn holds what the IMAP server writes and sends it in large
// writes. go-imap flushes its buffer at the end of every response line,
// which costs a FETCH 1:* one system call (and one wake-up of the client)
// per message (docs/PERFORMANCE.md, "IMAP vs Dovecot").
//
// The held bytes go out when they reach coalesceBytes, before every Read,
// on Flush and on Close. Flushing before Read is what keeps the protocol
// moving: a client waits for the server's answer before it sends more, and
// the server reads when it has answered everything it has read. Writes
// that no Read follows, IDLE's unsolicited updates, must be flushed by the
// writer (session.Idle does).
//
// Every held byte is written under the write deadline that was in force
// when it was handed over (the earliest one, for a batch), so a client
// that stops reading cannot hold a flush longer than go-imap allowed for
// the write. A write error is returned by the next Write, Read or Flush.
type coalescingConn struct {
	net.Conn

	mu       sync.Mutex
	buf      []byte
	err      error
	deadline time.Time // the write deadline last set
	held     time.Time // the earliest deadline of the bytes in buf; zero for none
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	return &coalescingConn{Conn: c}
}

// Write implements net.Conn. It reports the bytes as written once they are
// held.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.buf)+len(p) > coalesceBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= coalesceBytes {
			// A large literal: straight through, without a copy.
			return c.Conn.Write(p)
		}
	}
	if len(c.buf) == 0 {
		if c.buf == nil {
			c.buf = (*coalesceBufs.Get().(*[]byte))[:0]
		}
		c.held = c.deadline
	} else if !c.deadline.IsZero() && (c.held.IsZero() || c.deadline.Before(c.held)) {
		c.held = c.deadline
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// Flush writes the held bytes and gives the buffer back.
func (c *coalescingConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	if c.buf != nil {
		b := c.buf[:0]
		coalesceBufs.Put(&b)
		c.buf = nil
	}
	return err
}

func (c *coalescingConn) flushLocked() error {
	if c.err != nil || len(c.buf) == 0 {
		return c.err
	}
	if !c.held.Equal(c.deadline) {
		_ = c.Conn.SetWriteDeadline(c.held)
	}
	_, err := c.Conn.Write(c.buf)
	if !c.held.Equal(c.deadline) {
		_ = c.Conn.SetWriteDeadline(c.deadline)
	}
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
		c.buf = nil
	}
	return err
}

// Read implements net.Conn: it flushes first.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if err := c.Flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// SetWriteDeadline implements net.Conn.
func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline implements net.Conn.
func (c *coalescingConn) SetDeadline(t time.Time) error {
	if err := c.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(t)
}

// Close implements net.Conn: it flushes what is held (a BYE, say) first.
func (c *coalescingConn) Close() error {
	_ = c.Flush()
	return c.Conn.Close()
}

// flushConn writes what c's connection holds, for writes that no Read
// follows.
func flushConn(c net.Conn) error {
	for c != nil {
		switch v := c.(type) {
		case *coalescingConn:
			return v.Flush()
		case *clientConn:
			c = v.lower()
		case interface{ NetConn() net.Conn }: // *tls.Conn
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
