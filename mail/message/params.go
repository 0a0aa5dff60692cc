package message

import (
	"errors"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxParams bounds the parameters kept from one field; real fields have a
// handful, and a hostile one should not grow a map without bound.
const maxParams = 64

// parseParamField parses a Content-Type or Content-Disposition value into
// its lower-case value and parameters. mime.ParseMediaType does the work
// when it can (RFC 2045 §5.1, RFC 2231); when it rejects the field (a
// duplicate parameter, a stray character, a missing quote), a lenient
// parser recovers what it can. Parameter values that senders wrongly
// encode with RFC 2047 (common for file names) are decoded too.
func parseParamField(v string) (string, map[string]string) {
	value, params, err := mime.ParseMediaType(v)
	if err != nil {
		if !errors.Is(err, mime.ErrInvalidMediaParameter) {
			value = laxValue(v)
		}
		params = laxParams(v)
	}
	if len(params) == 0 {
		return value, nil
	}
	for k, pv := range params {
		params[k] = decodeText(pv)
	}
	return value, params
}

// laxValue returns the lower-case value before the first semicolon, or ""
// when it is not a token (with at most one slash, for a media type).
func laxValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.ToLower(strings.TrimSpace(v))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7F || strings.IndexByte(`()<>@,;:\"[]?=`, c) >= 0 {
			return ""
		}
	}
	return v
}

// laxParams splits "; name=value" pairs, quotes respected, the first of
// duplicates kept. RFC 2231 extended (name*) and continued (name*0,
// name*1*) values are put together and percent-decoded.
func laxParams(v string) map[string]string {
	params := make(map[string]string)
	cont := make(map[string][]contSeg)
	for _, seg := range splitParams(v) {
		if len(params)+len(cont) >= maxParams {
			break
		}
		name, val, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = unquote(strings.TrimSpace(val))
		if name == "" {
			continue
		}
		base, idx, ext := splitParamName(name)
		switch {
		case idx >= 0:
			cont[base] = append(cont[base], contSeg{idx: idx, ext: ext, val: val})
		case ext:
			if _, dup := params[base]; !dup {
				params[base] = decode2231(val)
			}
		default:
			if _, dup := params[base]; !dup {
				params[base] = val
			}
		}
	}
	for base, segs := range cont {
		if _, dup := params[base]; !dup {
			params[base] = joinContinuations(segs)
		}
	}
	return params
}

type contSeg struct {
	idx int
	ext bool
	val string
}

// splitParamName splits "name*2*" into "name", 2 and true; idx is -1 when
// the name has no section number.
func splitParamName(name string) (base string, idx int, ext bool) {
	if strings.HasSuffix(name, "*") {
		name, ext = name[:len(name)-1], true
	}
	if i := strings.LastIndexByte(name, '*'); i >= 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil && n >= 0 && n < maxParams {
			return name[:i], n, ext
		}
	}
	return name, -1, ext
}

// joinContinuations concatenates RFC 2231 §3 sections in order; the
// charset of section 0, if extended, applies to the whole value (§4.1).
func joinContinuations(segs []contSeg) string {
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].idx < segs[j].idx })
	var charset string
	var b strings.Builder
	for i, s := range segs {
		if i > 0 && s.idx == segs[i-1].idx {
			continue
		}
		val := s.val
		if s.ext {
			if s.idx == 0 {
				if cs, rest, ok := cutCharset(val); ok {
					charset, val = cs, rest
				}
			}
			val = percentDecode(val)
		}
		b.WriteString(val)
	}
	return toUTF8(charset, []byte(b.String()))
}

// decode2231 decodes an RFC 2231 §4 extended value "charset'lang'%XX".
func decode2231(v string) string {
	var charset string
	if cs, rest, ok := cutCharset(v); ok {
		charset, v = cs, rest
	}
	return toUTF8(charset, []byte(percentDecode(v)))
}

func cutCharset(v string) (charset, rest string, ok bool) {
	cs, afterCS, ok := strings.Cut(v, "'")
	if !ok {
		return "", v, false
	}
	_, rest, ok = strings.Cut(afterCS, "'")
	if !ok {
		return "", v, false
	}
	return cs, rest, true
}

func percentDecode(v string) string {
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

// splitParams returns the ";"-separated segments after the value,
// semicolons inside quoted strings not splitting.
func splitParams(v string) []string {
	var segs []string
	inQuote, start := false, -1
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			if start >= 0 {
				segs = append(segs, v[start:i])
			}
			start = i + 1
		}
	}
	if start >= 0 {
		segs = append(segs, v[start:])
	}
	return segs
}

// unquote removes the quotes and backslash escapes of a quoted string,
// and returns anything else unchanged.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	v = strings.TrimSuffix(v[1:], `"`)
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
