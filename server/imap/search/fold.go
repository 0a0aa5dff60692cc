package search

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// asciiFold maps each ASCII byte to its folded form: letters to upper
// case, the smallest member of their folding class (see foldRune).
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c - 'a' + 'A')
	}
	return t
}()

// foldRune maps r to the smallest rune of its Unicode simple case folding
// class (the runes that unicode.SimpleFold cycles through), so that two
// runes fold alike exactly when strings.EqualFold holds for them.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(asciiFold[r])
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// cp1252High holds the characters of Windows-1252 for 0x80-0x9F; a zero
// entry is undefined there and keeps the ISO-8859-1 code point.
var cp1252High = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// cp1252 decodes one byte of Windows-1252 (a superset of the printable
// ISO-8859-1).
func cp1252(c byte) rune {
	if c >= 0x80 && c < 0xA0 && cp1252High[c-0x80] != 0 {
		return cp1252High[c-0x80]
	}
	return rune(c)
}

// appendFold appends src, folded, to dst. src is UTF-8 in which a byte
// that starts no valid sequence is read as Windows-1252 (the way mail
// readers take unlabelled 8-bit text); with latin set, every byte is
// Windows-1252.
func appendFold(dst, src []byte, latin bool) []byte {
	// Folding keeps the length of ASCII, so one growth covers most text.
	dst = slices.Grow(dst, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			dst = append(dst, asciiFold[c])
			i++
			continue
		}
		r, n := rune(0), 1
		if !latin {
			r, n = utf8.DecodeRune(src[i:])
		}
		if latin || (r == utf8.RuneError && n == 1) {
			r = cp1252(c)
		}
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldString folds a search string once, at compile time.
func foldString(s string) []byte {
	return appendFold(make([]byte, 0, len(s)), []byte(s), false)
}
