package search_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/server/imap/search"
)

// benchRaw builds message i of the benchmark mailbox, about 3 KiB: in
// turn plain text, quoted-printable text and HTML alternatives, and
// base64 text with a base64 attachment.
func benchRaw(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\n"+
		"\tby mx.lightr.test with ESMTPS; Mon, 3 Mar 2025 08:00:01 +0000\n"+
		"From: =?UTF-8?Q?Sender_N=C2=BA%d?= <sender%d@example.net>\nTo: user@lightr.test\n"+
		"Subject: Weekly digest %d\nDate: Mon, 3 Mar 2025 08:00:00 +0000\n"+
		"Message-ID: <%d@example.net>\nMIME-Version: 1.0\n", i, i, i%250, i, i, i, i)
	line := "The garden market reopens next week with new seedlings and tools. "
	para := strings.Repeat(line, 6) + "\n"
	switch i % 3 {
	case 0:
		b.WriteString("Content-Type: text/plain; charset=utf-8\n\n")
		for range 5 {
			b.WriteString(para)
		}
	case 1:
		b.WriteString("Content-Type: multipart/alternative; boundary=alt\n\n--alt\n" +
			"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n")
		for range 2 {
			b.WriteString(strings.ReplaceAll(para, "é", "=C3=A9"))
		}
		b.WriteString("--alt\nContent-Type: text/html; charset=utf-8\n\n<html><body>")
		for range 2 {
			b.WriteString("<p>" + para + "</p>")
		}
		b.WriteString("</body></html>\n--alt--\n")
	case 2:
		b.WriteString("Content-Type: multipart/mixed; boundary=mix\n\n--mix\n" +
			"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n")
		b.WriteString(b64Lines(strings.Repeat(para, 2)))
		b.WriteString("--mix\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\n" +
			"Content-Transfer-Encoding: base64\n\n")
		b.WriteString(b64Lines(strings.Repeat("\x89PNG binary data ", 50)))
		b.WriteString("--mix--\n")
	}
	return crlf(b.String())
}

// benchMailbox holds n messages in memory, as a server's cache would.
func benchMailbox(n int) ([]*search.Message, int64) {
	msgs := make([]*search.Message, n)
	var total int64
	for i := range msgs {
		raw := []byte(benchRaw(i))
		total += int64(len(raw))
		msgs[i] = &search.Message{
			Seq: uint32(i + 1), UID: imap.UID(i + 1), Size: int64(len(raw)),
			InternalDate: time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC),
			Raw:          func() ([]byte, error) { return raw, nil },
		}
	}
	return msgs, total
}

func benchSearch(b *testing.B, c *imap.SearchCriteria, wantHits int) {
	const n = 10000
	msgs, total := benchMailbox(n)
	last := msgs[n-1]
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mt := search.Compile(c, search.Bounds{MaxSeq: last.Seq, MaxUID: last.UID})
		hits := 0
		for _, m := range msgs {
			ok, err := mt.Match(m)
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				hits++
			}
		}
		if hits != wantHits {
			b.Fatalf("%d hits, want %d", hits, wantHits)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}

// BenchmarkText is a TEXT search over 10,000 messages of about 3 KiB,
// for a string that none holds, so that every message is read in full.
func BenchmarkText(b *testing.B) {
	benchSearch(b, text("Seedlings and TOOLS! Ünicode"), 0)
}

// BenchmarkTextHit finds a string in the header of one message in 100.
func BenchmarkTextHit(b *testing.B) {
	benchSearch(b, text("digest 99"), 111)
}

// BenchmarkHeader is a SUBJECT search over the same mailbox.
func BenchmarkHeader(b *testing.B) {
	benchSearch(b, hdr("Subject", "digest 12345"), 0)
}

// BenchmarkRow is an UNSEEN search, for the cost of the row tests alone.
func BenchmarkRow(b *testing.B) {
	benchSearch(b, &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, 10000)
}
