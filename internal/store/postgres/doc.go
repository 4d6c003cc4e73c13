// Package postgres is the store.Store for deployments that run several
// Portcullis instances against one PostgreSQL database (pgx/v5, pgxpool).
//
// Nothing is cached in the process: every lookup reads the database, so a
// token revoked through one instance stops working on all of them at once.
// Read-modify-write operations (the per-user app-token cap, migrations)
// take transaction-scoped advisory locks, which works even for users that
// have no row of their own (static or LDAP users).
package postgres
