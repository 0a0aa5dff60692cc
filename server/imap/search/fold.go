package search

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/lightr-mail/lightr/mail/message"
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
			r = message.CP1252(c)
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
