//! Our own credentials: a cookie for the web, access and refresh tokens for
//! the AcApp (whose cookies would be third-party). Only SHA-256 hashes are
//! stored.
//!
//! The credentials of one login form a *family*, named by a random id and
//! stored with the player on every credential, so that starting a session
//! is a single write. Logout and refresh-token reuse revoke the family.
//! Every token also *carries* its family's id, in its first 16 hex digits
//! (the other 48 are random).
//!
//! Storage per family is bounded however often it refreshes: each refresh
//! deletes the generations older than the one whose refresh token it
//! claims, so a family holds its current pair and the pair before it (an
//! access token that may still be in flight, and the used refresh token).
//! A refresh token the family no longer stores is still known as one of
//! the family's by the id it carries: presenting it is reuse, like
//! presenting the used one, and ends the family. So a thief who refreshed
//! twice with a stolen token still loses the session once the player's app
//! presents its copy.
//!
//! A credential that is unknown, malformed, expired or revoked is found out
//! by a read, and costs no write.
//!
//! `Sessions` makes, checks and hashes tokens, and keeps each session's
//! refresh budget, once for every store. Below it, a [`SessionStore`] keeps
//! only hashes: `sql` in SQLite or PostgreSQL (the same tables and
//! statements), or `redis` for several instances, naming the player by
//! openid.

pub mod redis;
mod refresh_budget;
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::unix_now;
use crate::players::Player;
use crate::rate::{Rate, RateLimited};
use crate::secret::{random_hex, SessionToken};
use crate::store::StoreFailure;
use refresh_budget::SessionRefreshLimit;

pub const COOKIE_LIFETIME_SECS: i64 = 14 * 24 * 3600;
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;
// A revocation mark in Redis must outlive every credential it names.
const _: () = assert!(redis::REVOKED_MARK_SECS >= REFRESH_LIFETIME_SECS);
const _: () = assert!(redis::REVOKED_MARK_SECS >= COOKIE_LIFETIME_SECS);
/// Bytes in each of our credentials (hex-encoded: twice as many
/// characters): the family id's 8, then 24 random ones.
const TOKEN_BYTES: usize = 32;
const FAMILY_BYTES: usize = 8;

#[derive(Debug)]
pub struct TokenPair {
    pub access: SessionToken,
    pub refresh: SessionToken,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the credential is missing, unknown, expired or revoked")]
    Invalid,
    #[error("a used refresh token was presented again; its session is revoked")]
    Reused,
    #[error("this session refreshes too often")]
    TooFrequent(RateLimited),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// What a purge removed, and in how many statements.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub credentials: u64,
    pub families: u64,
    pub batches: u64,
}

/// What every session store enforces.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Lifetime of an access token (a refresh token lives 30 days).
    pub access_lifetime: Duration,
    /// How often one session may refresh.
    pub refresh_per_session: Rate,
}

impl SessionPolicy {
    /// The refresh budget a session gets: the configured one, but never
    /// less than two refreshes per access lifetime, so that an app
    /// refreshing ahead of expiry (and retrying once) is never held back,
    /// however short the lifetime is set.
    pub fn refresh_rate(&self) -> Rate {
        let lifetime = self.access_lifetime.as_secs().max(1);
        let cadence = u32::try_from(120u64.div_ceil(lifetime)).unwrap_or(u32::MAX);
        let per_minute = self
            .refresh_per_session
            .per_minute
            .max(std::num::NonZeroU32::new(cadence).unwrap_or(std::num::NonZeroU32::MIN));
        Rate::new(per_minute, self.refresh_per_session.burst)
    }
}

/// A credential for a store to write: its hash, never the token.
#[derive(Debug)]
pub struct NewCredential<'a> {
    pub hash: &'a str,
    pub kind: &'static str,
    /// When it stops authenticating (unix s).
    pub expires_at: i64,
    /// How long a store that expires keys by itself (Redis) keeps it: an
    /// access token's key outlives the token, so that logging out with an
    /// expired access token still finds its family.
    pub key_ttl_secs: i64,
}

/// What a read says of a refresh token, before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPeek {
    pub family: i64,
    pub used: bool,
    pub revoked: bool,
}

/// What a refresh writes in place of the refresh token it presents.
#[derive(Debug, Clone, Copy)]
pub enum Next<'a> {
    /// A rotation: the token is used up, and this pair is the next
    /// generation.
    Pair(&'a [NewCredential<'a>; 2]),
    /// A renewal: the token stays unused, and this access token joins its
    /// generation.
    Access(&'a NewCredential<'a>),
}

/// What a refresh did.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum Rotation {
    /// Rotated or renewed.
    Claimed,
    Reused,
    Invalid,
}

impl Rotation {
    fn into_result(self) -> Result<(), SessionError> {
        match self {
            Rotation::Claimed => Ok(()),
            Rotation::Reused => Err(SessionError::Reused),
            Rotation::Invalid => Err(SessionError::Invalid),
        }
    }
}

/// Where credentials live. It sees hashes only, and decides nothing about
/// a token's shape or a session's budget: `Sessions` does, once for every
/// store. A read that finds nothing must cost no write.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// A round trip, for readiness.
    async fn ping(&self) -> Result<(), StoreFailure>;

    /// Writes a web session's cookie in a new `family`. `replacing` (the
    /// hash of the cookie the browser had) has its family revoked in the
    /// same write.
    async fn start_web(
        &self,
        family: i64,
        player: &Player,
        cookie: &NewCredential<'_>,
        replacing: Option<&str>,
        now: i64,
    ) -> Result<(), StoreFailure>;

    /// Writes an AcApp session's access and refresh token, generation 0
    /// of a new `family`.
    async fn start_pair(
        &self,
        family: i64,
        player: &Player,
        pair: &[NewCredential<'_>; 2],
        now: i64,
    ) -> Result<(), StoreFailure>;

    /// The player behind a live, unrevoked cookie or access token.
    async fn authenticate(&self, hash: &str, now: i64) -> Result<Option<Player>, StoreFailure>;

    /// A live refresh token as it stands; nothing written.
    async fn peek_refresh(&self, hash: &str, now: i64)
        -> Result<Option<RefreshPeek>, StoreFailure>;

    /// Refreshes with refresh token `hash` of `family`, atomically. A
    /// rotation claims the token and writes the next generation: of any
    /// number of concurrent claims of one token exactly one wins. A
    /// renewal writes an access token and leaves the token unused. Either,
    /// given a used token, revokes the family.
    async fn refresh(
        &self,
        hash: &str,
        family: i64,
        next: Next<'_>,
        now: i64,
    ) -> Result<Rotation, StoreFailure>;

    /// Ends the family of credential `hash`, or else family `named` (the
    /// id the token carries) if it is live. Unknown credentials are fine.
    async fn revoke(&self, hash: &str, named: Option<i64>, now: i64) -> Result<(), StoreFailure>;

    /// Revokes `family` if it is live; whether it was.
    async fn revoke_family(&self, family: i64, now: i64) -> Result<bool, StoreFailure>;

    /// Revokes every session of `player`, on every device; how many.
    async fn revoke_player(&self, player: &Player, now: i64) -> Result<u64, StoreFailure>;

    /// Removes what can no longer authenticate, without holding up
    /// requests. A store that expires keys by itself has nothing to do.
    async fn purge(&self, now: i64) -> Result<Purged, StoreFailure>;
}

#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    access_lifetime_secs: i64,
    refresh_limit: Arc<SessionRefreshLimit>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape we mint. Anything else is refused before
/// it costs a hash and a database round trip.
pub fn well_formed(token: &str) -> bool {
    crate::secret::is_random_hex(token, TOKEN_BYTES)
}

fn new_family() -> i64 {
    // Random rather than sequential: no round trip to allocate one, and
    // nobody can guess another session's id from their own.
    (rand::thread_rng().next_u64() >> 1) as i64
}

/// A credential of `family`: the id, then 192 random bits.
fn new_token(family: i64) -> SessionToken {
    SessionToken::new(format!(
        "{:016x}{}",
        family,
        random_hex(TOKEN_BYTES - FAMILY_BYTES)
    ))
}

/// The family a well-formed token names. Only someone who held one of the
/// family's credentials knows it; for any other token it is noise, and
/// names no family we have.
fn family_of(token: &str) -> Option<i64> {
    let digits = token.get(..2 * FAMILY_BYTES)?;
    u64::from_str_radix(digits, 16)
        .ok()
        .and_then(|id| i64::try_from(id).ok())
}

/// A new pair of tokens of one family, and their hashes.
struct NewPair {
    access: SessionToken,
    refresh: SessionToken,
    access_hash: String,
    refresh_hash: String,
}

impl NewPair {
    fn of(family: i64) -> Self {
        let (access, refresh) = (new_token(family), new_token(family));
        Self {
            access_hash: hash(access.expose()),
            refresh_hash: hash(refresh.expose()),
            access,
            refresh,
        }
    }
}

impl Sessions {
    pub fn new(store: impl SessionStore + 'static, policy: &SessionPolicy) -> Self {
        Self {
            store: Arc::new(store),
            access_lifetime_secs: i64::try_from(policy.access_lifetime.as_secs())
                .unwrap_or(i64::MAX),
            refresh_limit: Arc::new(SessionRefreshLimit::new(policy.refresh_rate())),
        }
    }

    /// A round trip to the session store, for readiness.
    pub async fn ping(&self) -> Result<(), SessionError> {
        Ok(self.store.ping().await?)
    }

    /// A web session. `replacing` is the cookie the browser already had: a
    /// new login in that browser ends the old session, in the same write.
    pub async fn start_web(
        &self,
        player: &Player,
        replacing: Option<&str>,
    ) -> Result<SessionToken, SessionError> {
        let now = unix_now();
        let replacing = replacing.filter(|t| well_formed(t)).map(hash);
        let family = new_family();
        let cookie = new_token(family);
        let cookie_hash = hash(cookie.expose());
        let credential = NewCredential {
            hash: &cookie_hash,
            kind: "cookie",
            expires_at: now.saturating_add(COOKIE_LIFETIME_SECS),
            key_ttl_secs: COOKIE_LIFETIME_SECS,
        };
        self.store
            .start_web(family, player, &credential, replacing.as_deref(), now)
            .await?;
        Ok(cookie)
    }

    /// An AcApp session: an access and a refresh token.
    pub async fn start_acapp(&self, player: &Player) -> Result<TokenPair, SessionError> {
        let family = new_family();
        let now = unix_now();
        let pair = NewPair::of(family);
        self.store
            .start_pair(family, player, &self.credentials(&pair, now), now)
            .await?;
        Ok(self.pair(pair))
    }

    /// A pair as the store writes it. The access token's key lives as long
    /// as the refresh token beside it (see `NewCredential::key_ttl_secs`).
    fn credentials<'a>(&self, pair: &'a NewPair, now: i64) -> [NewCredential<'a>; 2] {
        [
            NewCredential {
                hash: &pair.access_hash,
                kind: "access",
                expires_at: now.saturating_add(self.access_lifetime_secs),
                key_ttl_secs: REFRESH_LIFETIME_SECS.max(self.access_lifetime_secs),
            },
            NewCredential {
                hash: &pair.refresh_hash,
                kind: "refresh",
                expires_at: now.saturating_add(REFRESH_LIFETIME_SECS),
                key_ttl_secs: REFRESH_LIFETIME_SECS,
            },
        ]
    }

    fn pair(&self, pair: NewPair) -> TokenPair {
        TokenPair {
            access: pair.access,
            refresh: pair.refresh,
            expires_in: self.access_lifetime_secs.unsigned_abs(),
        }
    }

    /// The player behind a cookie or access token.
    pub async fn authenticate(&self, token: &str) -> Result<Player, SessionError> {
        if !well_formed(token) {
            return Err(SessionError::Invalid);
        }
        self.store
            .authenticate(&hash(token), unix_now())
            .await?
            .ok_or(SessionError::Invalid)
    }

    /// Trades a refresh token for a new pair. A read finds out first
    /// whether the token is worth a write at all (unknown, expired or
    /// revoked: no), and charges the session's refresh budget. Then the
    /// store claims it: of any number of concurrent refreshes of one token
    /// exactly one wins. Presenting a used token again, or one the family
    /// no longer stores, revokes the whole family, since either the player
    /// or a thief holds a copy.
    pub async fn rotate(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        let (token_hash, family, now) = self.presented(refresh).await?;
        let pair = NewPair::of(family);
        let credentials = self.credentials(&pair, now);
        self.store
            .refresh(&token_hash, family, Next::Pair(&credentials), now)
            .await?
            .into_result()?;
        Ok(self.pair(pair))
    }

    /// Trades a refresh token for a new access token, and leaves the
    /// refresh token as it is: the pair returned carries it unchanged. This
    /// is the refresh of the course's client, which keeps the refresh token
    /// it got at login and sends it again every few minutes (its Django
    /// backend does not rotate). The same checks and budget as a rotation
    /// apply, and a token a rotation used up is still reuse.
    pub async fn renew(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        let (token_hash, family, now) = self.presented(refresh).await?;
        let access = new_token(family);
        let access_hash = hash(access.expose());
        let credential = NewCredential {
            hash: &access_hash,
            kind: "access",
            expires_at: now.saturating_add(self.access_lifetime_secs),
            // Unlike a pair's, a renewed access token's key need not
            // outlive it: the refresh token that renewed it, and the family
            // id every token carries, still end the session at logout.
            key_ttl_secs: self.access_lifetime_secs,
        };
        self.store
            .refresh(&token_hash, family, Next::Access(&credential), now)
            .await?
            .into_result()?;
        Ok(TokenPair {
            access,
            refresh: SessionToken::new(refresh.to_owned()),
            expires_in: self.access_lifetime_secs.unsigned_abs(),
        })
    }

    /// A presented refresh token's hash and family, once the reads say a
    /// write is worth it and the session's budget allows one.
    async fn presented(&self, refresh: &str) -> Result<(String, i64, i64), SessionError> {
        if !well_formed(refresh) {
            return Err(SessionError::Invalid);
        }
        let now = unix_now();
        let token_hash = hash(refresh);
        let family = match self.store.peek_refresh(&token_hash, now).await? {
            None => return Err(self.retired(refresh, now).await?),
            Some(RefreshPeek { revoked: true, .. }) => return Err(SessionError::Invalid),
            // Reuse is revoked by the store's claim.
            Some(RefreshPeek {
                used: true, family, ..
            }) => family,
            Some(RefreshPeek { family, .. }) => {
                self.refresh_limit
                    .check(family)
                    .map_err(SessionError::TooFrequent)?;
                family
            }
        };
        Ok((token_hash, family, now))
    }

    /// A refresh token no store knows. If it names a live family, it is one
    /// the family retired two or more refreshes ago: reuse, which ends the
    /// family. Otherwise (junk, or a family long gone) it is invalid, and
    /// nothing is written.
    async fn retired(&self, token: &str, now: i64) -> Result<SessionError, SessionError> {
        let Some(family) = family_of(token) else {
            return Ok(SessionError::Invalid);
        };
        if !self.store.revoke_family(family, now).await? {
            return Ok(SessionError::Invalid);
        }
        tracing::warn!("a refresh token two or more refreshes old was presented");
        Ok(SessionError::Reused)
    }

    /// Ends the session of any of its credentials: the family the store
    /// finds by the credential, or else the live family the token names (a
    /// credential the family no longer stores). Unknown tokens are fine:
    /// logging out twice is not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), SessionError> {
        if !well_formed(token) {
            return Ok(());
        }
        self.store
            .revoke(&hash(token), family_of(token), unix_now())
            .await?;
        Ok(())
    }

    /// Ends every session of `player`: web and AcApp, on every device and
    /// every instance. Their next request or refresh is `unauthorized`.
    pub async fn revoke_everywhere(&self, player: &Player) -> Result<u64, SessionError> {
        let revoked = self.store.revoke_player(player, unix_now()).await?;
        tracing::info!(
            player = player.id,
            sessions = revoked,
            "logged out everywhere"
        );
        Ok(revoked)
    }

    /// Removes expired credentials and old revocations (see
    /// `SessionStore::purge`), and forgets refresh budgets that have
    /// refilled.
    pub async fn purge(&self) -> Result<Purged, SessionError> {
        let purged = self.store.purge(unix_now()).await?;
        self.refresh_limit.forget_idle();
        Ok(purged)
    }

    /// Purges every `every`, for as long as the runtime runs.
    pub fn spawn_purger(&self, every: Duration) {
        let sessions = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match sessions.purge().await {
                    Ok(purged) => tracing::debug!(?purged, "purged expired sessions"),
                    Err(err) => tracing::warn!(error = %err, "purging expired sessions failed"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_access_lifetime_widens_the_refresh_budget() {
        let rate = Rate::of;
        let policy = |secs| SessionPolicy {
            access_lifetime: Duration::from_secs(secs),
            refresh_per_session: rate(6, 10),
        };
        assert_eq!(policy(900).refresh_rate(), rate(6, 10));
        assert_eq!(policy(5).refresh_rate(), rate(24, 10));
        assert_eq!(policy(60).refresh_rate(), rate(6, 10));
    }

    #[test]
    fn a_token_carries_its_family() {
        for family in [0, 1, 7 << 40, i64::MAX] {
            let token = new_token(family);
            assert!(well_formed(token.expose()), "{family}");
            assert_eq!(family_of(token.expose()), Some(family));
        }
        assert_ne!(new_token(5).expose(), new_token(5).expose());
        // A token whose first digits are no family of ours names none.
        assert_eq!(family_of(&"f".repeat(64)), None);
    }

    #[test]
    fn only_minted_shapes_are_well_formed() {
        assert!(well_formed(&random_hex(TOKEN_BYTES)));
        assert!(!well_formed(&random_hex(TOKEN_BYTES).to_uppercase()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(100_000)));
    }
}
