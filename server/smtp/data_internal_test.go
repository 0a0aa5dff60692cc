package smtp

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestBareNewline_Offsets checks the offset bareNewline reports: the first
// bad line ending, in byte order.
func TestBareNewline_Offsets(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", -1},
		{"a\r\n", -1},
		{"a\r\nb\r\n\r\n", -1},
		{"\n", 0},
		{"\r", 0},
		{"a\n", 1},
		{"a\r", 1},
		{"a\rb\r\n", 1},
		{"ab\r\n\n", 4},
		{"ab\r\r\n", 2},
		{"a\r\nb\nc\r", 4},
		{"\r\n\r", 2},
		{long + "\r\n" + long + "\r", 602},
		{long + "\r\n" + long + "\n", 602},
	} {
		if got := bareNewline([]byte(tc.in)); got != tc.want {
			t.Errorf("bareNewline(%.20q…) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// bareNewlineByteByByte is the definition of bareNewline, read literally.
func bareNewlineByteByByte(b []byte) int {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return i
		}
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return i
		}
	}
	return -1
}

// TestBareNewline_ByteByByte compares bareNewline with its definition on
// random text made mostly of line endings.
func TestBareNewline_ByteByByte(t *testing.T) {
	want := bareNewlineByteByByte
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"\r\n", "\r\n", "\r\n", "a", "bc", "\r", "\n", "\r\r\n"}
	for range 20000 {
		var sb strings.Builder
		for range r.IntN(12) {
			sb.WriteString(parts[r.IntN(len(parts))])
		}
		b := []byte(sb.String())
		if got, w := bareNewline(b), want(b); got != w {
			t.Fatalf("bareNewline(%q) = %d, want %d", b, got, w)
		}
	}
}

// BenchmarkBareNewline scans a clean 100 KiB message of 76-byte lines,
// against the byte-by-byte definition.
func BenchmarkBareNewline(b *testing.B) {
	msg := []byte(strings.Repeat(strings.Repeat("y", 74)+"\r\n", 100<<10/76))
	for _, bc := range []struct {
		name string
		f    func([]byte) int
	}{{"indexbyte", bareNewline}, {"bytebybyte", bareNewlineByteByByte}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if bc.f(msg) >= 0 {
					b.Fatal("clean message refused")
				}
			}
		})
	}
}
