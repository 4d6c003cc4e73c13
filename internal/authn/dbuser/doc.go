// Package dbuser authenticates users kept in the database (created with
// `portcullis user add` or the admin API). It also holds what the CLI and
// the API need to manage those users: password hashing, name and label
// validation, the last-administrator guard, and the first-start bootstrap
// of an administrator.
package dbuser
