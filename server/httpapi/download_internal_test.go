package httpapi

import (
	"strings"
	"testing"
)

func TestDownload_SafeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\x\evil.exe`, "evil.exe"},
		{".bashrc", "bashrc"},
		{"name.txt. . ", "name.txt"},
		{"a\"b*c:d<e>f?g|h.txt", "a_b_c_d_e_f_g_h.txt"},
		{"line\r\nbreak\x00.txt", "linebreak.txt"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"}, // a right-to-left override
		{"bad\xffutf8.txt", "badutf8.txt"},
		{"résumé.txt", "résumé.txt"},
		{"", "fallback"},
		{"/", "fallback"},
		{"...", "fallback"},
		{strings.Repeat("é", 200), strings.Repeat("é", maxFilename)},
	}
	for _, tc := range tests {
		if got := safeFilename(tc.in, "fallback"); got != tc.want {
			t.Errorf("safeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDownload_PassiveType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"image/png", "image/png"},
		{"IMAGE/JPEG; name=x.jpg", "image/jpeg"},
		{"text/plain; charset=ISO-8859-1; format=flowed", "text/plain; charset=ISO-8859-1"},
		{"application/pdf", "application/pdf"},
		{"audio/ogg", "audio/ogg"},
		{"text/html; charset=utf-8", "application/octet-stream"},
		{"image/svg+xml", "application/octet-stream"},
		{"application/xhtml+xml", "application/octet-stream"},
		{"text/xml", "application/octet-stream"},
		{"application/javascript", "application/octet-stream"},
		{"application/x-unknown", "application/octet-stream"},
		{"", "application/octet-stream"},
		{"not a type", "application/octet-stream"},
	}
	for _, tc := range tests {
		if got := passiveType(tc.in); got != tc.want {
			t.Errorf("passiveType(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
