package message

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeBase64_Lenient(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "QUJD", "ABC"},
		{"line breaks", "QU\r\nJD\r\n", "ABC"},
		{"padding", "QUI=", "AB"},
		{"concatenated", "QQ==QkM=", "ABC"},
		{"garbage skipped", "Q*U!J D", "ABC"},
		{"unpadded tail", "QUJDRA", "ABCD"},
		{"lone sextet", "QUJDR", "ABC"},
		{"url alphabet", "-_-_", "\xfb\xff\xbf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := decodeBase64([]byte{}, []byte(tt.in))
			if string(got) != tt.want || n != int64(len(tt.want)) {
				t.Errorf("decodeBase64(%q) = %q, %d; want %q", tt.in, got, n, tt.want)
			}
			if _, count := decodeBase64(nil, []byte(tt.in)); count != n {
				t.Errorf("counting gives %d, decoding %d", count, n)
			}
		})
	}
}

func TestDecodeQP_Lenient(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"escapes", "caf=C3=A9 =3D", "café ="},
		{"lower-case hex", "=c3=a9", "é"},
		{"soft break", "long=\r\nline", "longline"},
		{"soft break LF", "long=\nline", "longline"},
		{"soft break with spaces", "long=  \r\nline", "longline"},
		{"trailing space dropped", "a  \r\nb\t\n", "a\r\nb\n"},
		{"inner space kept", "a  b", "a  b"},
		{"inner tabs kept", "a \t\t b", "a \t\t b"},
		{"bad escape literal", "=ZZ=4", "=ZZ=4"},
		{"equals at end", "end=", "end"},
		{"hard breaks kept", "a\r\nb", "a\r\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := decodeQP([]byte{}, []byte(tt.in))
			if string(got) != tt.want || n != int64(len(tt.want)) {
				t.Errorf("decodeQP(%q) = %q, %d; want %q", tt.in, got, n, tt.want)
			}
			if _, count := decodeQP(nil, []byte(tt.in)); count != n {
				t.Errorf("counting gives %d, decoding %d", count, n)
			}
		})
	}
}

func TestToUTF8_Charsets(t *testing.T) {
	tests := []struct {
		name, charset, in, want string
	}{
		{"utf-8", "UTF-8", "café", "café"},
		{"invalid utf-8 replaced", "utf-8", "a\xffb", "a\uFFFDb"},
		{"latin-1 read as cp1252", "ISO-8859-1", "caf\xe9 \x80", "café €"},
		{"quoted label", `"iso-8859-15"`, "\xa4", "€"},
		{"no charset, 8-bit", "", "caf\xe9", "café"},
		{"no charset, utf-8", "", "café", "café"},
		{"koi8-r", "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"unknown keeps bytes", "x-unknown", "ok \xff", "ok \uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toUTF8(tt.charset, []byte(tt.in)); got != tt.want {
				t.Errorf("toUTF8(%q, %q) = %q, want %q", tt.charset, tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeText_Headers(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"q words joined", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?UTF-8?Q?_aus?=", "Grüße aus"},
		{"b word", "=?utf-8?B?SsO8cmdlbg==?=", "Jürgen"},
		{"latin-1 word", "=?ISO-8859-1?Q?Andr=E9?=", "André"},
		{"koi8-r word", "=?koi8-r?B?8NLJ18XU?=", "Привет"},
		{"unknown charset keeps bytes", "=?x-klingon?Q?qapla=27?=", "qapla'"},
		{"broken word stays", "=?UTF-8?B?not base64?=", "=?UTF-8?B?not base64?="},
		{"raw utf-8", "Tschüss", "Tschüss"},
		{"raw latin-1", "caf\xe9 \x93q\x94", "café “q”"},
		{"mixed raw", "caf\xc3\xa9 caf\xe9", "café café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeText(tt.in); got != tt.want {
				t.Errorf("decodeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseParamField_Lenient(t *testing.T) {
	tests := []struct {
		name, in  string
		value     string
		wantParam map[string]string
	}{
		{"standard", `text/plain; charset="utf-8"`, "text/plain", map[string]string{"charset": "utf-8"}},
		{"upper case", `Text/HTML; Charset=UTF-8`, "text/html", map[string]string{"charset": "UTF-8"}},
		{"duplicate", `text/plain; a=1; a=2`, "text/plain", map[string]string{"a": "1"}},
		{"unquoted spaces", `attachment; filename=my file.pdf`, "attachment",
			map[string]string{"filename": "my file.pdf"}},
		{"rfc 2231", `attachment; filename*=utf-8''caf%C3%A9.txt`, "attachment",
			map[string]string{"filename": "café.txt"}},
		{"rfc 2231 continuation, lax",
			`attachment; x=1; x=2; filename*0*=utf-8''a%C3; filename*1*=%A9`, "attachment",
			map[string]string{"x": "1", "filename": "aé"}},
		{"rfc 2047 in a value", `image/png; name="=?UTF-8?B?w6kucG5n?="`, "image/png",
			map[string]string{"name": "é.png"}},
		{"semicolon in quotes", `text/plain; name="a;b"; c=d e`, "text/plain",
			map[string]string{"name": "a;b", "c": "d e"}},
		{"no type", `; charset=utf-8`, "", map[string]string{"charset": "utf-8"}},
		{"garbage", `te xt`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, params := parseParamField(tt.in)
			if v != tt.value {
				t.Errorf("value = %q, want %q", v, tt.value)
			}
			if diff := cmp.Diff(tt.wantParam, params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}
