-- Times are INTEGER microseconds since the Unix epoch (UTC); NULL means
-- "never" (expiry) or "not yet" (last use).

CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY,
    password_hash BLOB    NOT NULL,
    admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    labels        TEXT,    -- JSON object; NULL = no labels (nil map)
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    generation    INTEGER NOT NULL
) STRICT;

-- Tokens do not reference users: their owner may come from the config file
-- or LDAP. DeleteUser removes a database user's tokens explicitly.
CREATE TABLE app_tokens (
    user_name      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    hash           BLOB    NOT NULL UNIQUE,
    scopes         TEXT    NOT NULL, -- JSON array
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    last_used_at   INTEGER,
    last_used_addr TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_name, name)
) STRICT;

CREATE TABLE refresh_tokens (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_name      TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    hash           BLOB    NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    last_used_at   INTEGER,
    last_used_addr TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_name);

CREATE TABLE engine_tokens (
    name         TEXT    NOT NULL PRIMARY KEY,
    hash         BLOB    NOT NULL UNIQUE,
    policy       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
) STRICT;

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    secret     TEXT    NOT NULL,
    groups     TEXT    NOT NULL, -- JSON array
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE replay_keys (
    key        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX replay_keys_expires ON replay_keys (expires_at);
