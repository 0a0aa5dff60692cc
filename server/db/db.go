package db

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lightr-mail/lightr/ent"
	_ "github.com/lightr-mail/lightr/ent/runtime" // registers the privacy policies and hooks
)

// Options configure Open.
type Options struct {
	// Path is the SQLite database file. Its directory is created.
	Path string
	// BusyTimeout bounds how long a statement waits for another process's
	// lock. Zero means 10s.
	BusyTimeout time.Duration
	// Readers is the size of the reader pool. Zero means 2 × GOMAXPROCS.
	Readers int
	// Logger receives migration messages. Nil discards them.
	Logger *slog.Logger
}

// DB is an open Lightr database.
type DB struct {
	*ent.Client
	Driver *Driver
	path   string
	log    *slog.Logger
}

// Open opens (creating if needed) the database at o.Path and migrates its
// schema to the current version.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Path == "" {
		return nil, errors.New("db: no database path")
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("db: create directory: %w", err)
	}

	writer, err := openPool(o, true)
	if err != nil {
		return nil, err
	}
	reader, err := openPool(o, false)
	if err != nil {
		_ = writer.Close()
		return nil, err
	}
	drv := &Driver{writer: entsql.OpenDB("sqlite3", writer), reader: entsql.OpenDB("sqlite3", reader)}
	d := &DB{Client: ent.NewClient(ent.Driver(drv)), Driver: drv, path: o.Path, log: o.Logger}
	if err := d.migrate(ctx); err != nil {
		_ = drv.Close()
		return nil, err
	}
	return d, nil
}

// readerMmapBytes is how much of the database file a reader maps.
const readerMmapBytes = 256 << 20

// openPool opens the writer (one connection, IMMEDIATE transactions) or
// the reader pool. Pragmas go in the DSN so that every pooled connection
// gets them, not only the first.
func openPool(o Options, write bool) (*stdsql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	// FULL: a commit is on disk before it returns, as a 250 reply promises.
	q.Add("_pragma", "synchronous(FULL)")
	// Times are written as "2006-01-02 15:04:05.999999999-07:00", which
	// the driver reads back. Its default, time.Time.String, gives
	// "+0100 +0100" for a zone without a name (every Date header and
	// IMAP APPEND date), which it then fails to parse, so such a row
	// could never be read again.
	q.Set("_time_format", "sqlite")
	if write {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
		// Readers map the database file instead of copying each page in
		// with a pread: a FETCH or SELECT of a large mailbox walks
		// thousands of pages, and the 2 MiB page cache of each
		// connection holds a fraction of them. The mapping is shared by
		// every connection and backed by the OS page cache, so it costs
		// address space, not memory of its own; pages in the WAL are
		// still read with pread.
		q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", readerMmapBytes))
	}
	dsn := "file:" + o.Path + "?" + q.Encode()
	pool, err := stdsql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", o.Path, err)
	}
	if write {
		pool.SetMaxOpenConns(1)
	} else {
		pool.SetMaxOpenConns(o.Readers)
		pool.SetMaxIdleConns(o.Readers)
	}
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return pool, nil
}

// Path returns the database file's path.
func (d *DB) Path() string { return d.path }

// Ping checks that both pools answer, for readiness probes.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.Driver.Reader().PingContext(ctx); err != nil {
		return err
	}
	return d.Driver.Writer().PingContext(ctx)
}

// Close closes the database.
func (d *DB) Close() error { return d.Client.Close() }
