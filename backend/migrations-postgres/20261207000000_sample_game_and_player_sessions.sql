-- "Log out everywhere" ends every session of one player: finding them
-- must not scan every credential.
CREATE INDEX session_credentials_player ON session_credentials(player_id);

-- The sample game's one table: each player's best reaction time, in
-- milliseconds (lower is better). Replace it with your game's own; see
-- docs/frontend-dev.md, "Build your game here".
CREATE TABLE reaction_best (
    player_id BIGINT PRIMARY KEY REFERENCES players(id),
    best_ms BIGINT NOT NULL,
    achieved_at BIGINT NOT NULL
);
