package sqlite

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Bounds on what the store accepts, so a caller bug or hostile input cannot
// fill the database with huge rows.
const (
	maxNameLen = 256
	maxKeyLen  = 512
	maxJSONLen = 64 << 10
)

// ts encodes a time as microseconds since the epoch; zero means NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// utc is t as the store returns it: UTC, microsecond precision.
func utc(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// fromTS decodes ts; NULL is the zero time.
func fromTS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// encodeList stores a list as a JSON array; nil and empty are both "[]".
func encodeList(l []string) (string, error) {
	if err := checkList("list entry", l); err != nil {
		return "", err
	}
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	if len(b) > maxJSONLen {
		return "", fmt.Errorf("list too long (%d bytes encoded)", len(b))
	}
	return string(b), nil
}

// decodeList reads encodeList's output; an empty list is nil.
func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// encodeLabels keeps nil (NULL) apart from empty ("{}").
func encodeLabels(m map[string][]string) (sql.NullString, error) {
	for k, vs := range m {
		if err := errors.Join(checkText("label name", k), checkList("label value", vs)); err != nil {
			return sql.NullString{}, err
		}
	}
	if m == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return sql.NullString{}, err
	}
	if len(b) > maxJSONLen {
		return sql.NullString{}, fmt.Errorf("labels too long (%d bytes encoded)", len(b))
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodeLabels(v sql.NullString) (map[string][]string, error) {
	if !v.Valid {
		return nil, nil
	}
	m := map[string][]string{}
	if err := json.Unmarshal([]byte(v.String), &m); err != nil {
		return nil, fmt.Errorf("decode labels: %w", err)
	}
	return m, nil
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isBusy reports that another connection holds a lock SQLite would not
// wait for.
func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func checkHash(h []byte) error {
	if len(h) != sha256.Size {
		return fmt.Errorf("hash must be %d bytes, got %d", sha256.Size, len(h))
	}
	return nil
}

func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s must not be empty", what)
	}
	return checkLen(what, s)
}

// rowsOne maps "no row changed" to notFound.
func rowsOne(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// checkLen bounds free-text fields that may be empty.
func checkLen(what, s string) error {
	if len(s) > maxNameLen {
		return fmt.Errorf("%s longer than %d bytes", what, maxNameLen)
	}
	return checkText(what, s)
}

// checkText refuses what one of the databases could not store as given:
// PostgreSQL rejects invalid UTF-8 and NUL in text, and JSON would
// silently replace invalid UTF-8. Both stores refuse the same inputs.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	return nil
}

func checkList(what string, l []string) error {
	for _, x := range l {
		if err := checkText(what, x); err != nil {
			return err
		}
	}
	return nil
}
