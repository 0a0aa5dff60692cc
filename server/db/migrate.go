package db

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lightr-mail/lightr/ent/migrate"
)

// SchemaVersion is the version of the schema this binary writes. Bump it
// with every change to ent/schema, so that a database records which
// binary last migrated it and an older binary refuses a newer database.
const SchemaVersion = 5

// versionTable records each migration; its last row is the current version.
const versionTable = `CREATE TABLE IF NOT EXISTS lightr_schema_version (
	version INTEGER NOT NULL,
	applied_at TEXT NOT NULL
)`

// afterEnt completes what Ent's migration cannot express, or what would
// otherwise tie a storage detail to the generated code.
//
// Every event gets its seq from its rowid when it is inserted, whoever
// inserts it (Ent or mail/delivery's raw SQL). SQLite gives a new row the
// largest rowid plus one, and write transactions run one at a time, so
// seq follows commit order: a reader that has seen seq n has seen every
// event committed before it, which a ULID made before the commit cannot
// promise across processes. The log is append-only and retention removes
// the oldest rows, never the newest, so a seq is never reused. (On
// PostgreSQL this would be a sequence read at commit, or a commit-ordered
// outbox.) Events written before the trigger existed are numbered once.
var afterEnt = []string{
	`CREATE TRIGGER IF NOT EXISTS events_seq AFTER INSERT ON events
		WHEN NEW.seq IS NULL
		BEGIN UPDATE events SET seq = NEW.rowid WHERE rowid = NEW.rowid; END`,
	`UPDATE events SET seq = rowid WHERE seq IS NULL`,
	// The outbound queue's reads (jobs/queue): new mail in id order
	// without sorting the whole queue at every claim, and the leases in
	// force without walking every pending row.
	`CREATE INDEX IF NOT EXISTS outboundrecipient_status_id ON outbound_recipients (status, id)`,
	`CREATE INDEX IF NOT EXISTS outboundrecipient_lease_until ON outbound_recipients (lease_until)`,
}

// migrate brings the schema to SchemaVersion. Ent's migration only adds
// tables, columns and indexes here (dropping is off), so an upgrade keeps
// every row; before upgrading an existing file it keeps a copy next to it.
func (d *DB) migrate(ctx context.Context) error {
	w := d.Driver.Writer()
	if _, err := w.ExecContext(ctx, versionTable); err != nil {
		return fmt.Errorf("db: version table: %w", err)
	}
	var current int
	row := w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM lightr_schema_version")
	if err := row.Scan(&current); err != nil {
		return fmt.Errorf("db: read schema version: %w", err)
	}
	if current > SchemaVersion {
		return fmt.Errorf("db: %s has schema version %d, newer than this binary's %d: "+
			"run a newer lightr", d.path, current, SchemaVersion)
	}
	if current > 0 && current < SchemaVersion {
		if err := d.backup(ctx, current); err != nil {
			return err
		}
	}

	// Ent's migration fills in the generated table descriptions, which are
	// package variables shared by every database of the process, so two
	// migrations at once (two databases opened together, as parallel tests
	// do) would race on them.
	migrateMu.Lock()
	err := d.Client.Schema.Create(ctx,
		migrate.WithDropColumn(false),
		migrate.WithDropIndex(false),
		migrate.WithForeignKeys(true),
	)
	migrateMu.Unlock()
	if err != nil {
		return fmt.Errorf("db: migrate schema: %w", err)
	}
	for _, stmt := range afterEnt {
		if _, err := w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("db: migrate schema: %w", err)
		}
	}
	if current == SchemaVersion {
		return nil
	}
	_, err = w.ExecContext(ctx,
		"INSERT INTO lightr_schema_version (version, applied_at) VALUES (?, ?)",
		SchemaVersion, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("db: record schema version: %w", err)
	}
	d.log.Info("database schema migrated", "from", current, "to", SchemaVersion, "path", d.path)
	return nil
}

// backup copies the database before an upgrade, so that a failed or
// regretted migration can be undone by hand.
func (d *DB) backup(ctx context.Context, from int) error {
	dst := fmt.Sprintf("%s.v%d.bak", d.path, from)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if _, err := d.Driver.Writer().ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("db: back up before migration: %w", err)
	}
	d.log.Info("database backed up before migration", "path", dst)
	return nil
}

// Version returns the schema version recorded in the database.
func (d *DB) Version(ctx context.Context) (int, error) {
	var v int
	row := d.Driver.Reader().QueryRowContext(ctx,
		"SELECT COALESCE(MAX(version), 0) FROM lightr_schema_version")
	return v, row.Scan(&v)
}

// migrateMu serializes schema migrations within the process.
var migrateMu sync.Mutex
