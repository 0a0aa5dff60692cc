// Package app assembles a Lightr server from its configuration: the
// logger, the database, the token signing keys and the authenticator, and
// runs the listeners until the context ends. The CLI's commands share it
// so that every command opens (and migrates) the database the same way.
package app
