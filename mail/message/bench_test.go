package message

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// benchMessage builds a realistic message of about size bytes: a
// newsletter-like multipart/alternative (text and HTML) inside a
// multipart/mixed, with a base64 attachment taking what the bodies leave.
func benchMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <news@shop.example>\r\n" +
		"Received: from mail.shop.example (mail.shop.example [192.0.2.7])\r\n" +
		"\tby mx.lightr.test with ESMTPS id 7Qa; Mon, 3 Mar 2025 08:00:01 +0000\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; s=s1; c=relaxed/relaxed;\r\n" +
		"\th=from:to:subject:date; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" +
		"\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgaGFzIHRoZSByaWdodCBsZW5ndGg=\r\n" +
		"From: \"Shop Newsletter\" <news@shop.example>\r\n" +
		"To: Customer <customer@lightr.test>, =?UTF-8?Q?J=C3=BCrgen?= <j@lightr.test>\r\n" +
		"Cc: archive@lightr.test\r\n" +
		"Subject: =?UTF-8?Q?Your_March_update_=E2=80=94_new_arrivals?=\r\n" +
		"Date: Mon, 3 Mar 2025 08:00:00 +0000\r\n" +
		"Message-ID: <march-update.5521@shop.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n" +
		"--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	for i := range 12 {
		fmt.Fprintf(&b, "Item %d: spring collection =E2=80=94 garden tools, 20%% off this week.\r\n", i)
	}
	b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><head><style>p{margin:0;font-family:sans-serif}</style></head><body>\r\n")
	for i := range 12 {
		fmt.Fprintf(&b, "<p>Item %d: <b>spring collection</b> &mdash; garden tools, 20%% off.</p>\r\n", i)
	}
	b.WriteString("</body></html>\r\n--alt--\r\n")
	if rest := size - b.Len() - 200; rest > 0 {
		data := make([]byte, rest*3/4)
		for i := range data {
			data[i] = byte(i * 7)
		}
		enc := base64.StdEncoding.EncodeToString(data)
		b.WriteString("\r\n--mix\r\nContent-Type: application/pdf; name=\"catalog.pdf\"\r\n" +
			"Content-Disposition: attachment; filename=\"catalog.pdf\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n")
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--mix--\r\n")
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		raw := benchMessage(size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(raw, Limits{})
			}
		})
	}
}

func TestBenchMessage_Parses(t *testing.T) {
	for _, size := range []int{4 << 10, 100 << 10} {
		raw := benchMessage(size)
		p := Parse(raw, Limits{})
		if p.Truncated || p.Subject != "Your March update — new arrivals" || p.Preview == "" {
			t.Errorf("%d bytes: truncated %v, subject %q, preview %q",
				len(raw), p.Truncated, p.Subject, p.Preview)
		}
		if !p.HasAttachments {
			t.Errorf("%d bytes: HasAttachments %v", len(raw), p.HasAttachments)
		}
		t.Logf("%d bytes, %d parts", len(raw), strings.Count(string(p.BodyStructure), "header_start"))
	}
}
