-- App tokens are looked up by hash on every login with one. Keyed by hash
-- in a WITHOUT ROWID table, a lookup is a single B-tree descent instead of
-- one in the hash index and a second in the table, which keeps lookups in
-- a store of a million tokens about as fast as in one of a thousand.
CREATE TABLE app_tokens_by_hash (
    hash           BLOB    NOT NULL PRIMARY KEY,
    user_name      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- JSON array
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    last_used_at   INTEGER,
    last_used_addr TEXT    NOT NULL DEFAULT '',
    UNIQUE (user_name, name)
) STRICT, WITHOUT ROWID;

INSERT INTO app_tokens_by_hash (hash, user_name, name, scopes, created_at, expires_at, last_used_at, last_used_addr)
    SELECT hash, user_name, name, scopes, created_at, expires_at, last_used_at, last_used_addr FROM app_tokens;

DROP TABLE app_tokens;

ALTER TABLE app_tokens_by_hash RENAME TO app_tokens;
