package verify

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/idna"
)

// fromStatus says what the From fields of a message gave.
type fromStatus int

const (
	fromOK        fromStatus = iota // one or more author domains
	fromMissing                     // no From field
	fromMalformed                   // a From field without a usable address
)

// addressParser parses From fields for their domains only: the decoder of
// encoded words accepts any charset and leaves the text as it is, so that a
// display name in an unknown charset does not hide the address.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, input io.Reader) (io.Reader, error) { return input, nil },
}}

// authorDomains returns the distinct domains of the addresses in the From
// fields of raw (RFC 5322 §3.6.2), lower case and in A-label form, in order.
// Every From field counts, although RFC 5322 allows one: evaluating them all
// keeps an added field from slipping past DMARC.
func authorDomains(raw []byte) ([]string, fromStatus) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fromMalformed
	}
	fields := h.Values("From")
	if len(fields) == 0 {
		return nil, fromMissing
	}

	var domains []string
	for _, field := range fields {
		addrs, err := addressParser.ParseList(field)
		if err != nil || len(addrs) == 0 {
			return nil, fromMalformed
		}
		for _, a := range addrs {
			d, ok := addressDomain(a.Address)
			if !ok {
				return nil, fromMalformed
			}
			if !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
	}
	return domains, fromOK
}

// addressDomain returns the domain of an address, lower case, with any
// U-labels turned into A-labels (RFC 5891) for the DNS.
func addressDomain(addr string) (string, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", false
	}
	d := normalizeDomain(addr[at+1:])
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" {
		return "", false
	}
	return ascii, true
}
