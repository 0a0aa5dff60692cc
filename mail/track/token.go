package track

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// Kind says what a token tracks.
type Kind byte

// The kinds of token; each has its own endpoint.
const (
	KindOpen  Kind = 'o'
	KindClick Kind = 'c'
)

// String returns "open" or "click".
func (k Kind) String() string {
	if k == KindClick {
		return "click"
	}
	return "open"
}

// MaxURL is the longest link that is tracked; a longer one is left as it
// is, so that the tracking URL stays well within what clients and servers
// accept.
const MaxURL = 2000

// KeySize is the size of a new signing key; NewSigner refuses shorter
// ones.
const KeySize = 32

// macSize is the length of the truncated HMAC-SHA256 in a token: 128
// bits, far beyond what an online guesser can reach.
const macSize = 16

// hasRecipient is the flag byte bit set when a token names a recipient.
const hasRecipient = 1

// ErrBadToken is returned for a token that does not verify, whatever the
// reason: malformed, altered, of another kind or signed with another key.
var ErrBadToken = errors.New("track: invalid token")

// Token is what a tracking link says.
type Token struct {
	Kind Kind
	// Message is the outbound message (out_…).
	Message pulid.ID
	// Recipient is the outbound recipient (rcp_…) the copy went to, or
	// empty when one copy went to several recipients.
	Recipient pulid.ID
	// URL is the original link of a click token.
	URL string
}

// Signer signs and verifies tokens with one key.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer with key, which must have at least KeySize
// bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("track: signing key of %d bytes; at least %d are needed", len(key), KeySize)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Encode returns t as a URL-safe string: the base64url of a flag byte,
// the 16-byte ULIDs of the message and (if any) the recipient, the URL,
// and the truncated MAC over the kind and all of that.
func (s *Signer) Encode(t Token) (string, error) {
	msg, err := ulidOf(t.Message, "out")
	if err != nil {
		return "", err
	}
	b := make([]byte, 1, 1+2*len(ulid.ULID{})+len(t.URL)+macSize)
	b = append(b, msg[:]...)
	if t.Recipient != "" {
		rcpt, err := ulidOf(t.Recipient, "rcp")
		if err != nil {
			return "", err
		}
		b[0] |= hasRecipient
		b = append(b, rcpt[:]...)
	}
	if t.Kind == KindClick {
		b = append(b, t.URL...)
	}
	b = append(b, s.mac(t.Kind, b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Decode verifies tok as a token of kind k and returns what it says.
func (s *Signer) Decode(k Kind, tok string) (Token, error) {
	// The longest token a URL of MaxURL bytes makes, in base64.
	if len(tok) > base64.RawURLEncoding.EncodedLen(1+32+MaxURL+macSize) {
		return Token{}, ErrBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+16+macSize {
		return Token{}, ErrBadToken
	}
	body, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	if !hmac.Equal(mac, s.mac(k, body)) {
		return Token{}, ErrBadToken
	}

	t := Token{Kind: k}
	flags, rest := body[0], body[1:]
	t.Message, rest = idOf("out", rest)
	if flags&hasRecipient != 0 {
		if len(rest) < 16 {
			return Token{}, ErrBadToken
		}
		t.Recipient, rest = idOf("rcp", rest)
	}
	if k == KindClick {
		t.URL = string(rest)
		if !Trackable(t.URL) {
			return Token{}, ErrBadToken
		}
	} else if len(rest) > 0 {
		return Token{}, ErrBadToken
	}
	return t, nil
}

// mac is the truncated HMAC-SHA256 over a label, the kind and body. The
// label keeps these MACs apart from any other use of the key.
func (s *Signer) mac(k Kind, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("lightr-track-v1"))
	h.Write([]byte{byte(k)})
	h.Write(body)
	return h.Sum(nil)[:macSize]
}

// ulidOf returns the ULID of id, which must have the prefix.
func ulidOf(id pulid.ID, prefix string) (ulid.ULID, error) {
	p, rest, ok := strings.Cut(string(id), "_")
	if !ok || p != prefix {
		return ulid.ULID{}, fmt.Errorf("track: %q is not an id with prefix %s", id, prefix)
	}
	u, err := ulid.ParseStrict(strings.ToUpper(rest))
	if err != nil {
		return ulid.ULID{}, fmt.Errorf("track: id %q: %w", id, err)
	}
	return u, nil
}

// idOf reads a ULID from b and returns it as an id with prefix.
func idOf(prefix string, b []byte) (pulid.ID, []byte) {
	var u ulid.ULID
	copy(u[:], b[:16])
	return pulid.ID(prefix + "_" + strings.ToLower(u.String())), b[16:]
}

// Trackable reports whether a link may be tracked: an absolute http or
// https URL of at most MaxURL bytes, with no spaces or controls.
func Trackable(u string) bool {
	if len(u) > MaxURL || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	lower := strings.ToLower(u)
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(lower, scheme) && len(u) > len(scheme) {
			return true
		}
	}
	return false
}
