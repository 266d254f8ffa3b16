-- A login writes one statement: its credentials, which carry the player and
-- a random family id. Revoking a family (logout, refresh-token reuse) adds a
-- row here instead of updating a sessions row.
CREATE TABLE session_credentials (
    token_hash TEXT PRIMARY KEY,
    family INTEGER NOT NULL,
    player_id INTEGER NOT NULL REFERENCES players(id),
    kind TEXT NOT NULL CHECK (kind IN ('cookie', 'access', 'refresh')),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX session_credentials_family ON session_credentials(family);
CREATE INDEX session_credentials_expiry ON session_credentials(expires_at);

CREATE TABLE revoked_families (
    family INTEGER PRIMARY KEY,
    revoked_at INTEGER NOT NULL
);

INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at, used_at)
    SELECT c.token_hash, c.session_id, s.player_id, c.kind, c.expires_at, c.used_at
    FROM credentials c JOIN sessions s ON s.id = c.session_id;
INSERT INTO revoked_families (family, revoked_at)
    SELECT id, revoked_at FROM sessions WHERE revoked_at IS NOT NULL;

DROP TABLE credentials;
DROP TABLE sessions;
