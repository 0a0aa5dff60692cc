package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is the timed client: it writes a command and reads every line
// of the answer up to the tagged status, skipping literals, without
// parsing what it reads. Parsing ENVELOPE and BODYSTRUCTURE in a full
// client costs more than producing them and would sit on the same two
// cores as the server, so the timing would be mostly the client's.
type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// answer is what rawConn counted in the answer to one command.
type answer struct {
	bytes    int64    // every byte up to and including the tagged line
	fetches  int      // untagged "* n FETCH" responses
	searched []string // numbers of the untagged SEARCH response
}

// dialRaw connects, reads the greeting, logs in and selects mailbox.
func dialRaw(addr, user, pass, mailbox string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	rc := &rawConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	if err := c.SetDeadline(time.Now().Add(10 * time.Minute)); err != nil {
		return nil, err
	}
	if _, err := rc.line(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := rc.do(fmt.Sprintf("LOGIN %q %q", user, pass)); err != nil {
		_ = c.Close()
		return nil, err
	}
	if mailbox != "" {
		if _, err := rc.do("SELECT " + mailbox); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return rc, nil
}

// do sends one command and reads its answer; a status other than OK is an
// error.
func (rc *rawConn) do(cmd string) (answer, error) {
	rc.tag++
	tag := "b" + strconv.Itoa(rc.tag)
	var a answer
	if _, err := rc.c.Write([]byte(tag + " " + cmd + "\r\n")); err != nil {
		return a, err
	}
	for {
		l, err := rc.line()
		if err != nil {
			return a, fmt.Errorf("%s: %w", cmd, err)
		}
		a.bytes += int64(len(l))
		switch {
		case bytes.HasPrefix(l, []byte(tag+" ")):
			if !bytes.HasPrefix(l[len(tag)+1:], []byte("OK")) {
				return a, fmt.Errorf("%s: %s", cmd, bytes.TrimSpace(l))
			}
			return a, nil
		case bytes.HasPrefix(l, []byte("* SEARCH")):
			for _, f := range bytes.Fields(l[len("* SEARCH"):]) {
				a.searched = append(a.searched, string(f))
			}
		case bytes.HasPrefix(l, []byte("* ")) && bytes.Contains(l[:min(len(l), 24)], []byte(" FETCH (")):
			a.fetches++
		}
	}
}

// line reads one response line, with the literals inside it (a literal
// announced by {n} at the end of a line, then the line goes on).
func (rc *rawConn) line() ([]byte, error) {
	var out []byte
	for {
		l, err := rc.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			out = append(out, l...)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
		n, ok := literalSize(out)
		if !ok {
			return out, nil
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(rc.r, lit); err != nil {
			return nil, err
		}
		out = append(out, lit...)
	}
}

// literalSize reports the n of a line ending in {n}CRLF (or {n+}).
func literalSize(l []byte) (int, bool) {
	l = bytes.TrimSuffix(l, []byte("\r\n"))
	if !bytes.HasSuffix(l, []byte("}")) {
		return 0, false
	}
	open := bytes.LastIndexByte(l, '{')
	if open < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(bytes.TrimSuffix(l[open+1:len(l)-1], []byte("+"))))
	if err != nil {
		return 0, false
	}
	return n, true
}

func (rc *rawConn) close() {
	_, _ = rc.do("LOGOUT")
	_ = rc.c.Close()
}
