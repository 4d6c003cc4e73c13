package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portcullis/portcullis/internal/store"
)

// Bounds on what the store accepts, so a caller bug or hostile input cannot
// fill the database with huge rows.
const (
	maxNameLen = 256
	maxKeyLen  = 512
	maxJSONLen = 64 << 10
)

// ts is a time argument: UTC to the microsecond, or NULL for zero.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return utc(t)
}

// utc is t as the store returns it: UTC, microsecond precision (that of
// timestamptz).
func utc(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// fromTS decodes a nullable timestamptz.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
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
func encodeLabels(m map[string][]string) (*string, error) {
	for k, vs := range m {
		if err := errors.Join(checkText("label name", k), checkList("label value", vs)); err != nil {
			return nil, err
		}
	}
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > maxJSONLen {
		return nil, fmt.Errorf("labels too long (%d bytes encoded)", len(b))
	}
	s := string(b)
	return &s, nil
}

func decodeLabels(v *string) (map[string][]string, error) {
	if v == nil {
		return nil, nil
	}
	m := map[string][]string{}
	if err := json.Unmarshal([]byte(*v), &m); err != nil {
		return nil, fmt.Errorf("decode labels: %w", err)
	}
	return m, nil
}

// isUnique reports a unique_violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
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
// storable reports whether every s could have been stored as text:
// PostgreSQL fails a query given invalid UTF-8 or a NUL, so lookups by such
// a key (a login's user name, a gateway's key id: client input) answer
// "not found" without asking, as SQLite does.
func storable(ss ...string) bool {
	for _, s := range ss {
		if checkText("", s) != nil {
			return false
		}
	}
	return true
}

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

// lockKey maps a name to an advisory-lock key. Two names sharing a key
// only serialise more than needed.
func lockKey(scope, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// lockUserTokens locks user's rows of a token table in hash order, the
// order touch updates them in. A statement that deletes several of them
// otherwise locks them in the order it finds them; meeting a last-used
// flush that holds some and waits for others, it deadlocks, and
// PostgreSQL fails one of the two (an administrator's "remove all
// sessions", a password change, or a login evicting expired sessions).
// Call it in the deleting transaction, before the deletes.
func lockUserTokens(ctx context.Context, tx pgx.Tx, table, user string) error {
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+table+" WHERE user_name = $1 ORDER BY hash FOR UPDATE", user); err != nil {
		return fmt.Errorf("lock %s of %q: %w", table, user, err)
	}
	return nil
}

// dedupUses keeps the latest use per hash and orders them by hash, so
// concurrent batches lock rows in the same order and cannot deadlock.
func dedupUses(uses []store.Usage) []store.Usage {
	latest := make(map[string]store.Usage, len(uses))
	for _, u := range uses {
		if checkHash(u.Hash) != nil || u.At.IsZero() {
			continue
		}
		if len(u.Addr) > maxNameLen || checkText("address", u.Addr) != nil {
			u.Addr = "" // informational only: never fail a batch for it
		}
		if old, ok := latest[string(u.Hash)]; !ok || u.At.After(old.At) {
			latest[string(u.Hash)] = u
		}
	}
	out := make([]store.Usage, 0, len(latest))
	for _, u := range latest {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Hash, out[j].Hash) < 0 })
	return out
}

// rowsOne maps "no row changed" to notFound.
func rowsOne(tag pgconn.CommandTag, notFound error) error {
	if tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}
