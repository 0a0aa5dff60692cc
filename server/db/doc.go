// Package db opens Lightr's SQLite database and keeps its schema current.
//
// SQLite allows one writer at a time. Rather than let concurrent writers
// race for the file lock and surface SQLITE_BUSY, Open keeps two pools: a
// single writer connection, whose callers queue inside database/sql, and a
// pool of readers that WAL mode lets run beside the writer. Every statement
// that is not a plain read, and every transaction, goes to the writer.
// busy_timeout still covers other processes (the CLI next to a running
// server).
package db
