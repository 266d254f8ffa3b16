-- AcWing's tokens are no longer kept: a login uses the access token it has
-- just obtained, and a leaked database must not give access to AcWing.
ALTER TABLE players DROP COLUMN acwing_access_token;
ALTER TABLE players DROP COLUMN acwing_access_expires_at;
ALTER TABLE players DROP COLUMN acwing_refresh_token;
ALTER TABLE players DROP COLUMN acwing_refresh_expires_at;
-- When the name and photo were last read from AcWing; a login refreshes
-- them in the background when they are older than a day.
ALTER TABLE players ADD COLUMN profile_synced_at INTEGER NOT NULL DEFAULT 0;
UPDATE players SET profile_synced_at = last_login_at;

CREATE INDEX credentials_expiry ON credentials(expires_at);
CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
