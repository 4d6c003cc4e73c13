CREATE TABLE users (
    name          TEXT        NOT NULL PRIMARY KEY,
    password_hash BYTEA       NOT NULL,
    admin         BOOLEAN     NOT NULL,
    disabled      BOOLEAN     NOT NULL,
    labels        JSONB,      -- NULL = no labels (nil map)
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    generation    BIGINT      NOT NULL
);

-- Tokens do not reference users: their owner may come from the config file
-- or LDAP. DeleteUser removes a database user's tokens explicitly.
CREATE TABLE app_tokens (
    user_name      TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    hash           BYTEA       NOT NULL UNIQUE,
    scopes         JSONB       NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    last_used_at   TIMESTAMPTZ,
    last_used_addr TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (user_name, name)
);

CREATE TABLE refresh_tokens (
    id             TEXT        NOT NULL PRIMARY KEY,
    user_name      TEXT        NOT NULL,
    client_id      TEXT        NOT NULL,
    hash           BYTEA       NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    last_used_at   TIMESTAMPTZ,
    last_used_addr TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_name);

CREATE TABLE engine_tokens (
    name         TEXT        NOT NULL PRIMARY KEY,
    hash         BYTEA       NOT NULL UNIQUE,
    policy       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);

CREATE TABLE api_keys (
    id         TEXT        NOT NULL PRIMARY KEY,
    secret     TEXT        NOT NULL,
    groups     JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE replay_keys (
    key        TEXT        NOT NULL PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX replay_keys_expires ON replay_keys (expires_at);
