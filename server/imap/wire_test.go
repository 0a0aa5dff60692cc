package imap

import (
	"crypto/tls"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClientConn_Chunks sends one stream of commands through a clientConn
// in random pieces, read in random sizes: go-imap must get every byte
// but the ID commands, byte for byte, and the ID answers must come, in
// order, whatever the cuts. Literals hold lines that look like commands.
func TestClientConn_Chunks(t *testing.T) {
	type part struct {
		in       string
		answered bool
	}
	parts := []part{
		{"a1 NOOP\r\n", false},
		{"a2 ID NIL\r\n", true},
		{"a3 APPEND INBOX {22+}\r\nx ID NIL\r\ny STARTTLS\r\n\r\n", false},
		{"a4 LOGIN {3}\r\nabc {2}\r\nxy\r\n", false},
		{"a5 id (\"name\" \"x\")\r\n", true},
		{"DONE\r\n", false},
		{"a6 SEARCH TEXT {4+}\r\na7 I\r\n", false},
		{"a8 ID (\"a\" NIL)\r\n", true},
		{"a9 APPEND INBOX ~{5}\r\nID \r\n\r\n", false},
	}
	var stream, want, answers strings.Builder
	for _, p := range parts {
		stream.WriteString(p.in)
		if p.answered {
			tag, _, _ := strings.Cut(p.in, " ")
			answers.WriteString("* ID " + serverID + "\r\n" + tag + " OK ID completed\r\n")
		} else {
			want.WriteString(p.in)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		server, client := net.Pipe()
		c := &clientConn{conn: server, log: slog.New(slog.DiscardHandler)}
		cuts := rand.New(rand.NewPCG(uint64(round), 5))
		go func() { // the client's writes, cut at random
			b := []byte(stream.String())
			for len(b) > 0 {
				n := min(len(b), 1+cuts.IntN(9))
				if _, err := client.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
		}()
		got := make(chan string, 1)
		go func() {
			b := make([]byte, answers.Len())
			_, _ = io.ReadFull(client, b)
			got <- string(b)
		}()
		_ = server.SetDeadline(time.Now().Add(5 * time.Second))
		var read strings.Builder
		for read.Len() < want.Len() {
			p := make([]byte, 1+rnd.IntN(16))
			n, err := c.Read(p)
			read.Write(p[:n])
			if err != nil {
				t.Fatalf("round %d: %v after %q", round, err, read.String())
			}
		}
		if read.String() != want.String() {
			t.Fatalf("round %d: go-imap got\n%q\nwant\n%q", round, read.String(), want.String())
		}
		if a := <-got; a != answers.String() {
			t.Fatalf("round %d: answers\n%q\nwant\n%q", round, a, answers.String())
		}
		_ = client.Close()
		_ = server.Close()
	}
}

// TestClientConn_Responses writes server output through a clientConn in
// random pieces: capability lists are completed, a literal that looks
// like one is left alone.
func TestClientConn_Responses(t *testing.T) {
	lit := "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
	out := "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] IMAP server ready\r\n" +
		"* 1 FETCH (BODY[] {" + strconv.Itoa(len(lit)) + "}\r\n" + lit + ")\r\n" +
		"t1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] done\r\n" +
		"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" +
		"+ Ready\r\n"
	want := "* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED ID] IMAP server ready\r\n" +
		"* 1 FETCH (BODY[] {" + strconv.Itoa(len(lit)) + "}\r\n" + lit + ")\r\n" +
		"t1 OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED ID] done\r\n" +
		"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED ID\r\n" +
		"+ Ready\r\n"
	rnd := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		server, client := net.Pipe()
		c := &clientConn{conn: server, tlsConf: &tls.Config{}, log: slog.New(slog.DiscardHandler)}
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(client)
			got <- string(b)
		}()
		b := []byte(out)
		for len(b) > 0 {
			n := min(len(b), 1+rnd.IntN(12))
			if m, err := c.Write(b[:n]); err != nil || m != n {
				t.Fatalf("round %d: Write %d: %d, %v", round, n, m, err)
			}
			b = b[n:]
		}
		_ = server.Close()
		if g := <-got; g != want {
			t.Fatalf("round %d: got\n%q\nwant\n%q", round, g, want)
		}
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want int // pairs
	}{
		{"NIL", true, 0},
		{"nil", true, 0},
		{`("name" "Thunderbird" "version" "128.0")`, true, 2},
		{`("name" NIL)`, true, 1},
		{`(name value)`, true, 1},
		{`("a" "b\"c\\d")`, true, 1},
		{`()`, true, 0},
		{`("name")`, false, 0},
		{`(NIL "x")`, false, 0},
		{`("name" "x"`, false, 0},
		{`("name"  "x")`, false, 0},
		{`("name" "x" )`, false, 0},
		{`("a" "b\x")`, false, 0},
		{`("` + strings.Repeat("f", 31) + `" "x")`, false, 0},
		{`("f" "` + strings.Repeat("v", 1025) + `")`, false, 0},
		{"(" + strings.Repeat(`"f" "v" `, 30) + `"f" "v")`, false, 0},
		{"", false, 0},
	} {
		fields, ok := parseID([]byte(tc.in))
		if ok != tc.ok || len(fields) != tc.want {
			t.Errorf("parseID(%.40q) = %v, %v", tc.in, fields, ok)
		}
	}
	fields, _ := parseID([]byte(`("a" "b\"c\\d")`))
	if fields[0] != [2]string{"a", `b"c\d`} {
		t.Errorf("unquoted %q", fields[0])
	}
}

func TestLineTail_Literal(t *testing.T) {
	for _, tc := range []struct {
		line       string
		n          int64
		sync, isLi bool
	}{
		{"a APPEND INBOX {12}\r\n", 12, true, true},
		{"a APPEND INBOX {12+}\r\n", 12, false, true},
		{"a APPEND INBOX ~{7-}\r\n", 7, false, true},
		{"a LOGIN {0}\r\n", 0, true, true},
		{"a NOOP\r\n", 0, false, false},
		{"a x {}\r\n", 0, false, false},
		{"a x {-1}\r\n", 0, false, false},
		{"a x 12}\r\n", 0, false, false},
	} {
		var lt lineTail
		for _, piece := range strings.SplitAfter(tc.line, " ") { // in pieces, as it may come
			lt.add([]byte(piece))
		}
		n, sync, ok := lt.literal()
		if n != tc.n || sync != tc.sync || ok != tc.isLi {
			t.Errorf("%q: %d %v %v", tc.line, n, sync, ok)
		}
	}
}

// chunkConn is the client's side as clientConn reads it: the stream in
// pieces of the given sizes, then EOF; what clientConn writes is kept.
type chunkConn struct {
	net.Conn // nil: only the methods below are called
	in       []byte
	sizes    []byte
	out      strings.Builder
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(c.in)
	if len(c.sizes) > 0 {
		n = min(n, 1+int(c.sizes[0]%32))
		c.sizes = c.sizes[1:]
	}
	n = copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// FuzzClientConn feeds clientConn arbitrary client bytes in arbitrary
// pieces: it must not panic or loop, must never hand go-imap more than it
// was sent, and must hand on every byte unchanged when no command it
// answers (ID, STARTTLS, AUTHENTICATE) can be in the stream.
func FuzzClientConn(f *testing.F) {
	for _, seed := range []string{
		"a1 NOOP\r\na2 ID NIL\r\n",
		"a APPEND INBOX {5+}\r\nx ID \r\n",
		"a LOGIN {3}\r\nabc {2}\r\nxy\r\nb id (\"name\" \"x\")\r\n",
		"b1 ID (\"name\" {5+}\r\nhello)\r\nb2 NOOP\r\n",
		"a SEARCH TEXT ~{4}\r\nID\r\n\r\nDONE\r\n",
		"x STARTTLS\r\ny AUTHENTICATE PLAIN\r\n",
	} {
		f.Add([]byte(seed), []byte{3, 1, 7, 0, 30})
	}
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		lower := &chunkConn{in: in, sizes: sizes}
		c := &clientConn{conn: lower, log: slog.New(slog.DiscardHandler), maxCommand: 1 << 10}
		var got []byte
		p := make([]byte, 7)
		for range 4*len(in) + 8 {
			n, err := c.Read(p)
			got = append(got, p[:n]...)
			if err != nil {
				break
			}
		}
		if len(got) > len(in) {
			t.Fatalf("go-imap got %d bytes of %d", len(got), len(in))
		}
		upper := strings.ToUpper(string(in))
		answered := strings.Contains(upper, "ID") || strings.Contains(upper, "STARTTLS") ||
			strings.Contains(upper, "AUTHENTICATE")
		if !answered && lower.out.Len() == 0 && string(got) != string(in) {
			t.Fatalf("passed %q\nof %q", got, in)
		}
	})
}

// FuzzClientConnWrite writes arbitrary server output through clientConn
// in arbitrary pieces: what reaches the client is the output unchanged
// when it has no capability list in it, and complete when it ends in a
// line end.
func FuzzClientConnWrite(f *testing.F) {
	f.Add([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n* 1 FETCH (BODY[] {3}\r\nabc)\r\n"), []byte{2, 9})
	f.Add([]byte("* 1 FETCH (BODY[] {26}\r\n* CAPABILITY IMAP4rev1\r\n)\r\nt OK\r\n"), []byte{5})
	f.Fuzz(func(t *testing.T, out, sizes []byte) {
		lower := &chunkConn{}
		c := &clientConn{conn: lower, log: slog.New(slog.DiscardHandler)}
		b := out
		for len(b) > 0 {
			n := len(b)
			if len(sizes) > 0 {
				n = min(n, 1+int(sizes[0]%32))
				sizes = sizes[1:]
			}
			if m, err := c.Write(b[:n]); err != nil || m != n {
				t.Fatalf("Write: %d, %v", m, err)
			}
			b = b[n:]
		}
		if !strings.Contains(string(out), "CAPABILITY") && len(out) > 0 && out[len(out)-1] == '\n' &&
			lower.out.String() != string(out) {
			t.Fatalf("client got %q\nof %q", lower.out.String(), out)
		}
	})
}
