package delivery

import (
	"slices"
	"testing"

	entmsg "github.com/lightr-mail/lightr/ent/message"
)

// TestInsertMessage_CoversSchema fails when the messages table gains a
// column that the raw insert does not write, so that a schema change
// cannot silently leave delivered rows without it.
func TestInsertMessage_CoversSchema(t *testing.T) {
	// Columns that keep their schema default on delivery.
	defaults := []string{entmsg.FieldKeywords}
	for _, c := range entmsg.Columns {
		if !slices.Contains(messageColumns, c) && !slices.Contains(defaults, c) {
			t.Errorf("column %s is not written by delivery", c)
		}
	}
	if n := len(messageArgs(&txn{}, &request{msg: &Message{}}, Delivered{}, "", 0)); n != len(messageColumns) {
		t.Errorf("%d arguments for %d columns", n, len(messageColumns))
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"}, {"hello", 3, "hel"}, {"héllo", 2, "h"}, {"héllo", 3, "hé"},
		{"日本", 5, "日"}, {"日本", 6, "日本"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
