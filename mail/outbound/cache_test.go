package outbound_test

import (
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/mail/outbound"
)

// TestCache_ReusesConnection: consecutive deliveries to one address ride
// one connection, a 5xx for a recipient included; without the cache each
// opens its own.
func TestCache_ReusesConnection(t *testing.T) {
	e := newEnv(t)
	b := &backend{rcptErr: map[string]*smtp.SMTPError{
		"nobody@example.test": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
	}}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)

	c := e.client(t, port, nil)
	defer c.Close()
	for _, rcpt := range []string{"a@example.test", "nobody@example.test", "b@example.test"} {
		deliver(t, c, "example.test", rcpt)
	}
	if n, got := b.sessionCount(), len(b.messages()); n != 1 || got != 2 {
		t.Errorf("%d connections and %d messages, want 1 and 2", n, got)
	}

	b2 := &backend{}
	port2 := startSMTP(t, b2, "127.0.0.1", 0, nil)
	off := e.client(t, port2, func(o *outbound.Options) { o.CacheIdle = -1 })
	for range 3 {
		deliver(t, off, "example.test", "a@example.test")
	}
	if n := b2.sessionCount(); n != 3 {
		t.Errorf("without the cache: %d connections, want 3", n)
	}
}

// TestCache_StaleConnectionReplaced: a cached connection the server has
// closed is noticed (RSET fails) and replaced, and the message still goes
// out in the same attempt.
func TestCache_StaleConnectionReplaced(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
	c := e.client(t, port, nil)
	defer c.Close()

	deliver(t, c, "example.test", "a@example.test")
	b.mu.Lock()
	_ = b.conns[0].Close()
	b.mu.Unlock()
	time.Sleep(50 * time.Millisecond)

	res := deliver(t, c, "example.test", "b@example.test")
	check(t, res.Recipients[0], want{outbound.StatusDelivered, 250, "2.0.0"})
	if n := b.sessionCount(); n != 2 {
		t.Errorf("%d connections, want 2 (the stale one replaced)", n)
	}
}

// TestCache_IdleExpires: a connection idle longer than CacheIdle is
// closed, and the next delivery opens a new one.
func TestCache_IdleExpires(t *testing.T) {
	e := newEnv(t)
	b := &backend{}
	port := startSMTP(t, b, "127.0.0.1", 0, nil)
	e.mx(t, "example.test", map[string]string{"mx.example.test": "127.0.0.1"}, nil)
	c := e.client(t, port, func(o *outbound.Options) { o.CacheIdle = 50 * time.Millisecond })
	defer c.Close()

	deliver(t, c, "example.test", "a@example.test")
	time.Sleep(200 * time.Millisecond)
	deliver(t, c, "example.test", "b@example.test")
	if n := b.sessionCount(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}
