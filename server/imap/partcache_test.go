package imap

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

func TestPartCache_KeepsAndBounds(t *testing.T) {
	c := newPartCache(1000)
	env := &imap.Envelope{Subject: "hi"}
	c.put("b1", 100, cachedParts{env: env})
	if got := c.get("b1"); got.env != env || got.bs != nil {
		t.Fatalf("get = %+v", got)
	}
	// A second put fills another field and keeps the first.
	bs := &imap.BodyStructureSinglePart{Type: "text", Subtype: "plain"}
	c.put("b1", 100, cachedParts{bs: bs})
	if got := c.get("b1"); got.env != env || got.bs != bs {
		t.Fatalf("after the second put, get = %+v", got)
	}
	if c.size != 100 {
		t.Fatalf("size %d after two puts of one entry, want 100", c.size)
	}

	for i := range 50 {
		c.put(pulid.ID(fmt.Sprint("x", i)), 100, cachedParts{env: env})
		if c.size > c.max {
			t.Fatalf("size %d over the bound %d", c.size, c.max)
		}
	}
	if n := len(c.items); n == 0 || n > 10 {
		t.Fatalf("%d entries of cost 100 under a bound of 1000", n)
	}
}
