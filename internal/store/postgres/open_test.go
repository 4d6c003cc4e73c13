package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/testenv"
)

// A statement_timeout the DSN sets holds, in whichever form it is written:
// as a parameter of its own, or the libpq way, inside options (which
// libpq users must use, since libpq refuses unknown parameters). Portcullis
// applies its 30 s default only when the DSN sets none; applied over an
// options setting it would silently win, as PostgreSQL lets startup
// parameters override options.
func TestStatementTimeoutFromDSN(t *testing.T) {
	testenv.Integration(t)
	for _, tc := range []struct{ name, key, value string }{
		{"parameter", "statement_timeout", "1s"},
		{"options -c", "options", "-c statement_timeout=1s"},
		{"options -c, no space, milliseconds", "options", "-cstatement_timeout=1000"},
		{"options --name", "options", "--statement-timeout=1s -c lock_timeout=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := testenv.StartPostgres(t)
			open(t, base, store.Options{}).CreateUser(t.Context(), store.User{Name: "u", PasswordHash: []byte("h")})
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set(tc.key, tc.value)
			// Spaces as %20: pgx does not read '+' as one.
			u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
			s := open(t, u.String(), store.Options{})

			// Another session holds the user's row; the update waits for
			// it until the statement timeout cancels it.
			holder := rawConn(t, base)
			tx, err := holder.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(t.Context(), "SELECT 1 FROM users WHERE name = 'u' FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err = s.UpdateUser(ctx, "u", store.UserUpdate{PasswordHash: []byte("h2")})
			if took := time.Since(start); err == nil || took > 5*time.Second {
				t.Fatalf("update of a locked row: %v after %v, want the DSN's 1s statement timeout", err, took.Round(time.Millisecond))
			}
		})
	}
}
