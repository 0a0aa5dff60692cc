// Package pulid implements Lightr's identifiers: a short type prefix, an
// underscore and a ULID, such as "org_01JD7Q…" or "msg_01JD7R…".
//
// The prefix names the entity type, so node(id:) can find the table from the
// id alone; the ULID makes ids globally unique, sortable by creation time,
// and impossible to enumerate (80 random bits follow the timestamp).
package pulid

import (
	"crypto/rand"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID is a prefixed ULID. Its zero value is the empty string.
type ID string

// ErrMalformed is returned for a string that is not a prefixed ULID.
var ErrMalformed = errors.New("pulid: malformed id")

var (
	entropyMu sync.Mutex
	// A monotonic source keeps ids created within one millisecond sorted.
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new ID with the given prefix, stamped with the current time.
func New(prefix string) ID {
	entropyMu.Lock()
	u := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	entropyMu.Unlock()
	return ID(prefix + "_" + strings.ToLower(u.String()))
}

// Prefix returns the type prefix of id, or "" when id has none.
func (id ID) Prefix() string {
	p, _, ok := strings.Cut(string(id), "_")
	if !ok {
		return ""
	}
	return p
}

// Time returns the creation time encoded in id.
func (id ID) Time() (time.Time, error) {
	_, rest, ok := strings.Cut(string(id), "_")
	if !ok {
		return time.Time{}, ErrMalformed
	}
	u, err := ulid.ParseStrict(strings.ToUpper(rest))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return ulid.Time(u.Time()), nil
}

// Valid reports whether id has a prefix and a well-formed ULID.
func (id ID) Valid() bool {
	_, err := id.Time()
	return err == nil && id.Prefix() != ""
}

// String returns id as a string.
func (id ID) String() string { return string(id) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (id *ID) UnmarshalGQL(v any) error {
	return id.Scan(v)
}

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(string(id)))
}

// Scan implements sql.Scanner. NULL scans as the empty ID.
func (id *ID) Scan(src any) error {
	switch s := src.(type) {
	case string:
		*id = ID(s)
	case []byte:
		*id = ID(s)
	case ID:
		*id = s
	case nil:
		// NULL in an optional column (an admin API key has no organization).
		*id = ""
	default:
		return fmt.Errorf("pulid: unexpected type %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) {
	return string(id), nil
}
