package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/lightr-mail/lightr/ent"
)

// InTx runs fn in a transaction of c (on SQLite, the writer's, begun
// IMMEDIATE) and commits it, or rolls it back when fn fails. Errors are
// fn's own, or the begin's or commit's prefixed with what.
func InTx(ctx context.Context, c *ent.Client, what string, fn func(*ent.Client) error) error {
	tx, err := c.Tx(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	if err := fn(tx.Client()); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %w)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// InsertSQL returns an INSERT of one row into table, with a placeholder
// per column, for the hot paths that write rows without Ent's builders
// (mail/delivery, jobs/queue). Table and column names come from the
// generated constants, never from input.
func InsertSQL(table string, columns ...string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES (" + marks + ")"
}
