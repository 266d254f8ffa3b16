-- Which refresh of its family a credential came from (0: the login). A
-- refresh deletes every generation older than the one it claims, so a
-- family holds at most two generations however often it refreshes: the
-- current one, and the one before it, whose used refresh token is what
-- reuse detection needs.
ALTER TABLE session_credentials ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
