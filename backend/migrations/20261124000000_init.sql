-- Players are keyed by AcWing's openid, which is unique per user per AcApp.
CREATE TABLE players (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    photo TEXT NOT NULL,
    -- AcWing's tokens never leave the server.
    acwing_access_token TEXT NOT NULL,
    acwing_access_expires_at INTEGER NOT NULL,
    acwing_refresh_token TEXT NOT NULL,
    acwing_refresh_expires_at INTEGER NOT NULL,
    first_login_at INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL
);

-- One row per login: a web cookie session or an AcApp token family.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    player_id INTEGER NOT NULL REFERENCES players(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Our own credentials, stored only as SHA-256 hashes.
CREATE TABLE credentials (
    token_hash TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    kind TEXT NOT NULL CHECK (kind IN ('cookie', 'access', 'refresh')),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX credentials_session ON credentials(session_id);
