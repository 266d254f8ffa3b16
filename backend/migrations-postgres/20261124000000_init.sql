-- The SQLite schema (backend/migrations/) after all of its migrations, in
-- PostgreSQL's dialect: the same tables, columns, constraints and indexes.
-- Times are Unix seconds, as there. Players are keyed by AcWing's openid,
-- which is unique per user per AcApp; names are unique too.
CREATE TABLE players (
    id BIGSERIAL PRIMARY KEY,
    openid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    photo TEXT NOT NULL,
    first_login_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    profile_synced_at BIGINT NOT NULL DEFAULT 0
);

-- Sessions: here when PostgreSQL runs without Redis (one instance); with
-- ACAPP_REDIS_URL set they live in Redis and these tables stay empty.
CREATE TABLE session_credentials (
    token_hash TEXT PRIMARY KEY,
    family BIGINT NOT NULL,
    player_id BIGINT NOT NULL REFERENCES players(id),
    kind TEXT NOT NULL CHECK (kind IN ('cookie', 'access', 'refresh')),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX session_credentials_family ON session_credentials(family);
CREATE INDEX session_credentials_expiry ON session_credentials(expires_at);

CREATE TABLE revoked_families (
    family BIGINT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
