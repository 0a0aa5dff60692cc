package httpapi_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
)

// mimeTree parses raw with go-message and lists its parts, indented by
// depth: the media type, then the disposition and file name of leaves
// that have one.
func mimeTree(t testing.TB, raw []byte) []string {
	t.Helper()
	ent, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	var out []string
	var walk func(e *gomessage.Entity, depth int)
	walk = func(e *gomessage.Entity, depth int) {
		typ, _, _ := e.Header.ContentType()
		line := strings.Repeat("  ", depth) + typ
		if disp, params, err := e.Header.ContentDisposition(); err == nil && disp != "" {
			line += " " + disp + " " + params["filename"]
		}
		out = append(out, line)
		mr := e.MultipartReader()
		if mr == nil {
			if _, err := io.ReadAll(e.Body); err != nil {
				t.Fatalf("read part %s: %v", typ, err)
			}
			return
		}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("next part of %s: %v", typ, err)
			}
			walk(p, depth+1)
		}
	}
	walk(ent, 0)
	return out
}
