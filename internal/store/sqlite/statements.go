package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements are the lookups on the request path (every login with an app
// token, refresh token, engine token or API key), prepared once instead of
// parsed on every call; database/sql prepares them again on each pooled
// connection as needed.
type statements struct {
	appTokenByHash     *sql.Stmt
	refreshTokenByHash *sql.Stmt
	engineTokenByHash  *sql.Stmt
	userByName         *sql.Stmt
	apiKeyByID         *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmts.appTokenByHash, "SELECT " + appTokenCols + " FROM app_tokens WHERE hash = ?"},
		{&s.stmts.refreshTokenByHash, "SELECT " + refreshCols + " FROM refresh_tokens WHERE hash = ?"},
		{&s.stmts.engineTokenByHash, "SELECT " + engineCols + " FROM engine_tokens WHERE hash = ?"},
		{&s.stmts.userByName, "SELECT " + userCols + " FROM users WHERE name = ?"},
		{&s.stmts.apiKeyByID, "SELECT " + apiKeyCols + " FROM api_keys WHERE id = ?"},
	} {
		st, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = st
	}
	return nil
}

// close releases the prepared statements (nil ones were never prepared).
func (st *statements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.appTokenByHash, st.refreshTokenByHash, st.engineTokenByHash, st.userByName, st.apiKeyByID} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
