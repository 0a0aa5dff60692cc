package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/store"
)

// oneByOne is a BlobStore without GetMany.
type oneByOne struct{ store.DBStore }

func (oneByOne) GetMany() {} // a different signature: not a BatchGetter

func TestStore_LoadMany(t *testing.T) {
	d := openDB(t)
	ctx := viewer.AdminContext(context.Background())
	org := must(d.Organization.Create().SetName("a").Save(ctx))
	s := store.New()
	raws := [][]byte{[]byte("one\r\n"), []byte("two\r\n"), []byte("three\r\n")}
	var blobs []*ent.Blob
	for _, r := range raws {
		blobs = append(blobs, must(s.Save(ctx, d.Client, org.ID, r)))
	}
	// In the caller's order, with a repeat, as a mailbox may hold one
	// message twice.
	order := []int{2, 0, 1, 0}
	var want [][]byte
	var asked []*ent.Blob
	for _, i := range order {
		want, asked = append(want, raws[i]), append(asked, blobs[i])
	}

	for name, st := range map[string]*store.Store{"batch": s, "one by one": {Blobs: oneByOne{}}} {
		t.Run(name, func(t *testing.T) {
			got := must(st.LoadMany(ctx, d.Client, asked))
			if len(got) != len(want) {
				t.Fatalf("got %d messages, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("message %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}

	missing := &ent.Blob{Key: string(org.ID) + "/nothing"}
	if _, err := s.LoadMany(ctx, d.Client, []*ent.Blob{blobs[0], missing}); err == nil {
		t.Error("LoadMany of a missing blob succeeded")
	}
}
