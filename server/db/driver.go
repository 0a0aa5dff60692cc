package db

import (
	"context"
	stdsql "database/sql"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// Driver is an ent dialect.Driver that sends reads to a reader pool and
// everything else to a single writer connection.
type Driver struct {
	writer *entsql.Driver
	reader *entsql.Driver
}

var _ dialect.Driver = (*Driver)(nil)

// isRead reports whether query only reads. INSERT … RETURNING goes
// through Query too, so the verb decides, not the method.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	return strings.EqualFold(q[:6], "SELECT")
}

// Exec implements dialect.ExecQuerier.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	return d.writer.Exec(ctx, query, args, v)
}

// Query implements dialect.ExecQuerier.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	if isRead(query) {
		return d.reader.Query(ctx, query, args, v)
	}
	return d.writer.Query(ctx, query, args, v)
}

// Tx implements dialect.Driver. Transactions always run on the writer and
// begin IMMEDIATE, so a read-then-write transaction never fails to upgrade
// its lock.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.writer.Tx(ctx)
}

// BeginTx starts a transaction with options; ent's client uses it.
func (d *Driver) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (dialect.Tx, error) {
	return d.writer.BeginTx(ctx, opts)
}

// ExecContext runs a raw statement on the writer.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	return d.writer.ExecContext(ctx, query, args...)
}

// QueryContext runs a raw query on the reader pool when it only reads.
func (d *Driver) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	if isRead(query) {
		return d.reader.QueryContext(ctx, query, args...)
	}
	return d.writer.QueryContext(ctx, query, args...)
}

// Dialect implements dialect.Driver.
func (d *Driver) Dialect() string { return dialect.SQLite }

// Close closes both pools.
func (d *Driver) Close() error {
	werr := d.writer.Close()
	if err := d.reader.Close(); err != nil {
		return err
	}
	return werr
}

// Writer returns the writer pool, for maintenance such as VACUUM INTO.
func (d *Driver) Writer() *stdsql.DB { return d.writer.DB() }

// Reader returns the reader pool, for raw reads such as benchmarks.
func (d *Driver) Reader() *stdsql.DB { return d.reader.DB() }
