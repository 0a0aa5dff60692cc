package message

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// adversarial messages: each would take minutes if some step were
// quadratic, and must parse in well under the bound below.
func adversarialMessages() map[string]string {
	var nestedDistinct, nestedSame, nestedRFC822 strings.Builder
	nestedDistinct.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	nestedSame.WriteString("Content-Type: multipart/mixed; boundary=s\r\n\r\n")
	for i := range 10000 {
		fmt.Fprintf(&nestedDistinct, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
		nestedSame.WriteString("--s\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n")
		nestedRFC822.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	nestedRFC822.WriteString("Subject: bottom\r\n\r\nbody\r\n")

	var manyParts strings.Builder
	manyParts.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for range 100000 {
		manyParts.WriteString("--p\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n")
	}
	manyParts.WriteString("--p--\r\n")

	notDelimiters := "Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\n" +
		strings.Repeat("x--abc--abcd --abc- --ab\r\n--abcX\r\n", 100000) + "--abc--\r\n"

	const appHeader = "Content-Type: application/x\r\nContent-Transfer-Encoding: "
	return map[string]string{
		"10k nested multiparts":      nestedDistinct.String(),
		"10k nested, one boundary":   nestedSame.String(),
		"10k nested messages":        nestedRFC822.String(),
		"100k parts":                 manyParts.String(),
		"100k header lines":          strings.Repeat("X-Spam: a\r\n", 100000) + "Subject: late\r\n\r\nbody",
		"100k continuation lines":    "Subject: s\r\n" + strings.Repeat(" fold\r\n", 100000) + "\r\nbody",
		"10 MB header line":          "X: " + strings.Repeat("a", 10<<20) + "\r\n\r\nbody",
		"10 MB without a line break": strings.Repeat("a", 10<<20),
		"boundary look-alikes":       notDelimiters,
		"100k encoded words":         "Subject: " + strings.Repeat("=?utf-8?q?a?= ", 100000) + "\r\n\r\n",
		"100k addresses":             "To: " + strings.Repeat("a <b@c>, ", 100000) + "\r\n\r\n",
		"html of unclosed tags": "Content-Type: text/html\r\n\r\n" +
			strings.Repeat("<script><style></", 100000),
		"10 MB base64 attachment": appHeader + "base64\r\n\r\n" + strings.Repeat("QUJD\r\n", 2<<20),
		"10 MB quoted-printable": appHeader + "quoted-printable\r\n\r\n" +
			strings.Repeat("=41 \t =\r\n", 1<<20),
		"params of a hostile disposition": "Content-Disposition: attachment" +
			strings.Repeat("; a*1*=%41", 100000) + "\r\n\r\n",
	}
}

func TestParse_AdversarialInputsAreBounded(t *testing.T) {
	// Linear work on these inputs takes milliseconds (seconds under the race
	// detector on a loaded machine); quadratic work would take minutes.
	const bound = 20 * time.Second
	for name, msg := range adversarialMessages() {
		t.Run(name, func(t *testing.T) {
			raw := []byte(msg)
			start := time.Now()
			p := parse(raw, Limits{}.withDefaults())
			if d := time.Since(start); d > bound {
				t.Errorf("parse took %v", d)
			}
			checkParsed(t, raw, p, Limits{}.withDefaults())
			start = time.Now()
			if _, _, err := Bodies(raw); err != nil {
				t.Errorf("Bodies: %v", err)
			}
			if _, err := Headers(raw); err != nil && !errors.Is(err, ErrHeaderTooLarge) {
				t.Errorf("Headers: %v", err)
			}
			if d := time.Since(start); d > bound {
				t.Errorf("Bodies and Headers took %v", d)
			}
			t.Logf("%d bytes, truncated %v", len(raw), p.Truncated)
		})
	}
}

func TestParse_LimitsTruncate(t *testing.T) {
	msgs := adversarialMessages()
	tests := []struct {
		name          string
		msg           string
		wantTruncated bool
		maxParts      int
	}{
		{"10k nested multiparts", msgs["10k nested multiparts"], true, DefaultMaxDepth + 1},
		{"10k nested messages", msgs["10k nested messages"], true, DefaultMaxDepth + 1},
		{"100k parts", msgs["100k parts"], true, DefaultMaxParts},
		{"100k header lines", msgs["100k header lines"], true, 1},
		{"boundary look-alikes", msgs["boundary look-alikes"], false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Parse([]byte(tt.msg), Limits{})
			if p.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v, want %v", p.Truncated, tt.wantTruncated)
			}
			n := 0
			p.Root.Walk(func(string, *Part) bool { n++; return true })
			if n != tt.maxParts {
				t.Errorf("%d parts, want %d", n, tt.maxParts)
			}
		})
	}
}
