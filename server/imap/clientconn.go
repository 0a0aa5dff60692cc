package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// handshakeTimeout bounds STARTTLS's handshake.
const handshakeTimeout = 30 * time.Second

// maxCapsLine is the longest response line held back to see whether it
// carries a capability list; go-imap's are about 300 bytes.
const maxCapsLine = 2 << 10

// serverID is what Lightr says of itself in answer to ID (RFC 2971): its
// name, like Dovecot's default, and no version.
const serverID = `("name" "Lightr")`

// clientListener wraps every accepted connection in a clientConn.
type clientListener struct {
	net.Listener
	tls          *tls.Config // STARTTLS is offered when set
	secure       bool        // the connections are TLS from their start
	insecureAuth bool
	maxCommand   int // bytes of a command, literals not counted; 0 for no limit
	log          *slog.Logger
}

// Accept implements net.Listener.
func (l clientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &clientConn{conn: c, insecureAuth: l.insecureAuth, maxCommand: l.maxCommand, log: l.log}
	if l.secure {
		cc.secure.Store(true)
	} else {
		cc.tlsConf = l.tls
	}
	return cc, nil
}

// clientConn is the connection as go-imap's server reads and writes it.
// It does three things go-imap v2.0.0-beta.8 has no hook for:
//
//   - ID (RFC 2971): it answers a client's ID with serverID. go-imap
//     answers a command it does not know with BAD, and with BYE before
//     login.
//   - STARTTLS: done here and not by go-imap, whose STARTTLS wraps the
//     connection it holds (this one) in TLS and would leave this layer
//     nothing but ciphertext to read. go-imap therefore never sees TLS and
//     runs with InsecureAuth; session.Login refuses a login without TLS
//     unless Options.AllowInsecureAuth is set, and AUTHENTICATE is
//     refused here before the client sends its credentials.
//   - The capability lists (greeting, CAPABILITY, after login): ID is
//     added, and before TLS on the plain port STARTTLS and LOGINDISABLED
//     are added and the AUTH= mechanisms taken out, which is what go-imap
//     announces when it sees the TLS itself.
//
// A command of its own is answered only when go-imap has taken every
// byte before it and asks for more. go-imap reads and answers one command
// at a time, so by then it has written its responses to the commands
// before, and this layer's come in order. The streams are followed just
// far enough to know where commands and response lines start (wire.go).
type clientConn struct {
	tlsConf       *tls.Config // for STARTTLS; nil when it is not offered
	insecureAuth  bool
	maxCommand    int
	log           *slog.Logger
	secure        atomic.Bool            // TLS is in place
	authenticated atomic.Bool            // set by session.Login
	client        atomic.Pointer[string] // the name and version the client gave in ID

	// Used by go-imap's connection goroutine, the only one that reads.
	ready   []byte // scanned bytes for go-imap that it has not taken yet
	pending []byte // bytes not scanned yet
	more    bool   // pending starts a command that needs more bytes to tell
	rerr    error  // a read error, returned once the bytes before it are taken

	mu      sync.Mutex // guards what follows
	conn    net.Conn   // the connection below: TCP, coalescing, maybe TLS
	in      inState
	out     outState
	partial []byte // the start of a response line, held until it is complete
}

// inState is where the client's byte stream is.
type inState struct {
	mid      bool  // inside a command, not at its first byte
	size     int   // bytes of the command so far, literals not counted
	literal  int64 // literal bytes still to come
	drop     bool  // the current command is dropped, not passed on
	tail     lineTail
	tag      [maxTag]byte // the current command's tag
	tagN     int
	syncWait bool // a synchronizing literal was announced and no "+" has come
}

// outState is where the server's byte stream is.
type outState struct {
	mid     bool
	literal int64
	tail    lineTail
}

type inEvent int

const (
	inPass    inEvent = iota // the bytes go to go-imap
	inDrop                   // the bytes are dropped
	inCommand                // the bytes are a command line answered here
	inMore                   // more bytes are needed to tell
	inTooLong                // the command is longer than maxCommand
)

// errTooLong ends a connection whose command is longer than allowed.
var errTooLong = errors.New("imap: command too long")

// lower returns the connection below.
func (c *clientConn) lower() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// NetConn returns the connection below, as *tls.Conn's method does.
func (c *clientConn) NetConn() net.Conn { return c.lower() }

// Read implements net.Conn. It returns the client's bytes less the
// commands it answers itself.
func (c *clientConn) Read(p []byte) (int, error) {
	for {
		if len(c.ready) > 0 {
			n := copy(p, c.ready)
			if c.ready = c.ready[n:]; len(c.ready) == 0 {
				c.ready = nil
			}
			return n, nil
		}
		var buf []byte
		inPlace := false
		if len(c.pending) == 0 || c.more {
			if c.rerr != nil {
				return 0, c.rerr
			}
			n, err := c.lower().Read(p)
			c.rerr = err
			if n == 0 {
				if len(c.pending) > 0 { // a command cut short by the end
					c.ready, c.pending, c.more = c.pending, nil, false
					continue
				}
				return 0, err
			}
			if len(c.pending) == 0 {
				buf, inPlace = p[:n], true
			} else {
				c.pending = append(c.pending, p[:n]...)
				buf = c.pending
			}
			c.more = false
		} else {
			buf = c.pending
		}

		c.mu.Lock()
		n, ev, kind := c.scan(buf)
		c.mu.Unlock()
		if inPlace && ev == inPass {
			if n < len(buf) {
				c.pending = append([]byte(nil), buf[n:]...)
			}
			return n, nil
		}
		if inPlace { // p is go-imap's and may be handed out below
			buf = append([]byte(nil), buf...)
		}
		if c.pending = buf[n:]; len(c.pending) == 0 {
			c.pending = nil // an idle connection keeps no buffer
		}
		switch ev {
		case inPass:
			c.ready = buf[:n]
		case inCommand:
			if err := c.command(kind, buf[:n]); err != nil {
				return 0, err
			}
		case inMore:
			c.more = true
		case inTooLong:
			// go-imap is in the middle of the command; like go-imap past
			// its own limit, the connection ends, here with a word why.
			_ = c.reply("* BYE [TOOBIG] Command longer than " + strconv.Itoa(c.maxCommand) + " bytes\r\n")
			c.log.Warn("command too long, connection closed", "limit", c.maxCommand)
			c.rerr, c.pending = errTooLong, nil
			return 0, errTooLong
		}
	}
}

// scan follows the client's stream over b and says what its first n
// bytes are. It stops before a command this layer answers, and says
// inMore when b starts a command that may be one of those but is cut
// short.
func (c *clientConn) scan(b []byte) (n int, ev inEvent, kind commandKind) {
	s := &c.in
	rest := inPass
	if s.drop {
		rest = inDrop
	}
	i := 0
	for i < len(b) {
		if s.literal > 0 {
			k := int(min(int64(len(b)-i), s.literal))
			i += k
			s.literal -= int64(k)
			s.syncWait = false
			continue
		}
		if !s.mid {
			kind, tag, decided := classify(b[i:])
			if !decided {
				if i > 0 {
					return i, rest, 0
				}
				return 0, inMore, 0
			}
			if kind != cmdPass && c.takes(kind) {
				if i > 0 {
					return i, rest, 0
				}
				end := bytes.IndexByte(b, '\n')
				if end < 0 && len(b) < maxIDLineSize {
					return 0, inMore, 0
				}
				if end < 0 { // too long: refused, and the rest of it dropped
					s.mid, s.drop = true, true
					s.tail.reset()
					s.tail.add(b)
					s.tagN = copy(s.tag[:], tag)
					return len(b), inCommand, cmdTooLong
				}
				return end + 1, inCommand, kind
			}
			s.tagN = copy(s.tag[:], tag)
			s.mid, s.size = true, 0
		}
		n, ended, lit := s.tail.through(b[i:])
		if s.size += n; c.maxCommand > 0 && s.size > c.maxCommand && !s.drop {
			return i, inTooLong, 0 // the connection ends: the bytes do not matter
		}
		i += n
		if !ended {
			break
		}
		if lit.ok {
			s.literal, s.syncWait = lit.n, lit.sync && lit.n > 0
			continue
		}
		s.mid = false
		if s.drop {
			s.drop = false
			return i, inDrop, 0
		}
	}
	return i, rest, 0
}

// takes says whether a command of that kind is answered here now.
func (c *clientConn) takes(kind commandKind) bool {
	switch kind {
	case cmdID:
		return true
	case cmdStartTLS:
		return c.tlsConf != nil && !c.secure.Load() && !c.authenticated.Load()
	case cmdAuthenticate:
		return !c.insecureAuth && !c.secure.Load() && !c.authenticated.Load()
	}
	return false
}

// command answers one command line. go-imap has answered everything
// before it and waits for the client.
func (c *clientConn) command(kind commandKind, line []byte) error {
	_, tagb, _ := classify(line)
	tag := string(tagb)
	if kind == cmdTooLong {
		return c.reply(tag + " BAD Command line too long\r\n")
	}
	var t lineTail
	t.add(line)
	if n, sync, ok := t.literal(); ok {
		if !sync { // the literal and the rest of the command follow: dropped
			c.mu.Lock()
			c.in.mid, c.in.drop, c.in.literal = true, true, n
			c.in.tagN = copy(c.in.tag[:], tagb)
			c.mu.Unlock()
		}
		return c.reply(tag + " BAD Literals are not accepted here\r\n")
	}
	// The arguments: what follows the tag, a space, the name and a space.
	_, args, _ := bytes.Cut(bytes.TrimRight(line[len(tagb)+1:], "\r\n"), []byte(" "))

	switch kind {
	case cmdAuthenticate:
		return c.reply(tag + " NO [PRIVACYREQUIRED] TLS is required to log in\r\n")
	case cmdStartTLS:
		if len(args) > 0 {
			return c.reply(tag + " BAD STARTTLS takes no arguments\r\n")
		}
		return c.startTLS(tag)
	}
	fields, ok := parseID(args)
	if !ok {
		return c.reply(tag + " BAD Malformed ID arguments\r\n")
	}
	c.noteClient(fields)
	return c.reply("* ID " + serverID + "\r\n" + tag + " OK ID completed\r\n")
}

// noteClient keeps what the client said of itself for the log lines.
func (c *clientConn) noteClient(fields [][2]string) {
	var name, version string
	attrs := make([]any, 0, 2*len(fields))
	for _, f := range fields {
		k := strings.ToLower(f[0])
		switch k {
		case "name":
			name = f[1]
		case "version":
			version = f[1]
		}
		attrs = append(attrs, "id_"+k, truncate(f[1], 100))
	}
	s := strings.TrimSpace(truncate(name, 60) + " " + truncate(version, 30))
	c.client.Store(&s)
	c.log.Debug("client id", attrs...)
}

// reply writes lines of this layer's own.
func (c *clientConn) reply(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.conn.Write([]byte(s))
	return err
}

// startTLS answers STARTTLS and puts TLS under go-imap. Whatever the
// client sent after the command in clear is dropped, so that nothing
// sent before the handshake counts as sent under TLS.
func (c *clientConn) startTLS(tag string) error {
	c.mu.Lock()
	_, err := c.conn.Write([]byte(tag + " OK Begin TLS negotiation now\r\n"))
	if err == nil {
		err = flushConn(c.conn)
	}
	tc := tls.Server(c.conn, c.tlsConf)
	c.conn = tc
	c.in = inState{}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.pending, c.more = nil, false
	c.secure.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.Debug("STARTTLS handshake failed", "err", err)
		return err
	}
	return nil
}

// Write implements net.Conn. It completes capability lists on their way
// out and reports p as written once it is written or held.
func (c *clientConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *clientConn) write(p []byte) error {
	if len(c.partial) > 0 {
		p = append(c.partial, p...)
		c.partial = nil
	}
	s := &c.out
	i, run := 0, 0 // p[run:i] is passed on unchanged
	flush := func() error {
		if i == run {
			return nil
		}
		_, err := c.conn.Write(p[run:i])
		run = i
		return err
	}
	for i < len(p) {
		if s.literal > 0 {
			k := int(min(int64(len(p)-i), s.literal))
			i += k
			s.literal -= int64(k)
			continue
		}
		if !s.mid {
			yes, decided := capsLine(p[i:])
			end := bytes.IndexByte(p[i:], '\n')
			if (yes || !decided) && end < 0 && len(p)-i < maxCapsLine {
				if err := flush(); err != nil {
					return err
				}
				c.partial = append([]byte(nil), p[i:]...)
				return nil
			}
			c.responseStarts(p[i:])
			if yes && end >= 0 {
				if err := flush(); err != nil {
					return err
				}
				if _, err := c.conn.Write(rewriteCaps(p[i:i+end+1], c.adjustCaps)); err != nil {
					return err
				}
				i += end + 1
				run = i
				continue
			}
			s.mid = true
		}
		n, ended, lit := s.tail.through(p[i:])
		i += n
		if !ended {
			break
		}
		if lit.ok {
			s.literal = lit.n
			continue
		}
		s.mid = false
	}
	return flush()
}

// responseStarts watches the start of each response line for the answer
// to a synchronizing literal: "+" lets the literal come; a tagged answer
// to the command instead refuses it, and the client then sends no
// literal, so the next byte from it starts a command.
func (c *clientConn) responseStarts(line []byte) {
	in := &c.in
	if !in.syncWait {
		return
	}
	if line[0] == '+' {
		in.syncWait = false
		return
	}
	tag := in.tag[:in.tagN]
	if len(line) > len(tag) && line[len(tag)] == ' ' && bytes.Equal(line[:len(tag)], tag) {
		in.syncWait, in.literal, in.mid, in.drop = false, 0, false, false
		in.tail.reset()
	}
}

// adjustCaps completes a capability list go-imap wrote.
func (c *clientConn) adjustCaps(caps []string) []string {
	clear := !c.secure.Load() && !c.authenticated.Load()
	out := make([]string, 0, len(caps)+3)
	for _, cp := range caps {
		if clear && !c.insecureAuth && len(cp) > 5 && strings.EqualFold(cp[:5], "AUTH=") {
			continue
		}
		out = append(out, cp)
	}
	if clear && c.tlsConf != nil {
		out = append(out, "STARTTLS")
	}
	if clear && !c.insecureAuth {
		out = append(out, "LOGINDISABLED")
	}
	return append(out, "ID")
}

// Close implements net.Conn.
func (c *clientConn) Close() error { return c.lower().Close() }

// LocalAddr implements net.Conn.
func (c *clientConn) LocalAddr() net.Addr { return c.lower().LocalAddr() }

// RemoteAddr implements net.Conn.
func (c *clientConn) RemoteAddr() net.Addr { return c.lower().RemoteAddr() }

// SetDeadline implements net.Conn.
func (c *clientConn) SetDeadline(t time.Time) error { return c.lower().SetDeadline(t) }

// SetReadDeadline implements net.Conn.
func (c *clientConn) SetReadDeadline(t time.Time) error { return c.lower().SetReadDeadline(t) }

// SetWriteDeadline implements net.Conn.
func (c *clientConn) SetWriteDeadline(t time.Time) error { return c.lower().SetWriteDeadline(t) }
