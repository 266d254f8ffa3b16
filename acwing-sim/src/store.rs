//! Codes, tokens and users, on a clock that tests can move forward.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::RngCore;
use serde::Serialize;

use crate::{Endpoint, SimUser};

const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
const ACCESS_LIFETIME: Duration = Duration::from_secs(2 * 3600);
const REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// At most this many unredeemed codes: anyone who can open the consent page
/// can have codes made, so they must not pile up without end.
const MAX_CODES: usize = 10_000;
/// The clock moves forward at most this far in all, so that no instant
/// overflows (a hundred years).
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    BadAppid,
    BadSecret,
    CodeExpired,
    AccessExpired,
    AccessInvalid,
    RefreshExpired,
}

impl StoreError {
    /// AcWing's errcode for this failure, and whether it sends it as a
    /// number (as its docs show for some) or a string.
    pub fn errcode(self) -> (&'static str, &'static str, bool) {
        match self {
            StoreError::CodeExpired => ("40001", "code expired", true),
            StoreError::BadAppid => ("40002", "appid invalid", false),
            StoreError::AccessExpired => ("40004", "access_token expired", false),
            StoreError::BadSecret => ("40006", "secret invalid", false),
            StoreError::RefreshExpired => ("40007", "refresh_token expired", false),
            StoreError::AccessInvalid => ("40008", "access_token invalid", false),
        }
    }
}

/// AcWing's answer to a token exchange or refresh.
#[derive(Debug, Serialize)]
pub struct Grant {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub openid: String,
    pub scope: &'static str,
}

struct Access {
    openid: String,
    expires_at: Instant,
}

struct Refresh {
    openid: String,
    access_token: String,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    offset: Duration,
    users: Vec<SimUser>,
    /// openid → position in `users`, so lookups stay cheap with many users.
    user_index: HashMap<String, usize>,
    /// Unknown openids become users on their first code (for load tests).
    auto_users: bool,
    codes: HashMap<String, (String, Instant)>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    calls: HashMap<Endpoint, usize>,
}

pub struct Store {
    state: Mutex<State>,
}

fn token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl State {
    fn now(&self) -> Instant {
        Instant::now() + self.offset
    }

    fn user(&self, openid: &str) -> Option<&SimUser> {
        self.user_index.get(openid).map(|&at| &self.users[at])
    }

    fn put_user(&mut self, user: SimUser) {
        match self.user_index.get(&user.openid) {
            Some(&at) => self.users[at] = user,
            None => {
                self.user_index
                    .insert(user.openid.clone(), self.users.len());
                self.users.push(user);
            }
        }
    }

    fn grant(&mut self, openid: &str, refresh_token: Option<String>) -> Grant {
        let now = self.now();
        let access_token = token();
        self.access.insert(
            access_token.clone(),
            Access {
                openid: openid.to_owned(),
                expires_at: now + ACCESS_LIFETIME,
            },
        );
        let refresh_token = refresh_token.unwrap_or_else(token);
        let expires_at = self
            .refresh
            .get(&refresh_token)
            .map_or(now + REFRESH_LIFETIME, |r| r.expires_at);
        self.refresh.insert(
            refresh_token.clone(),
            Refresh {
                openid: openid.to_owned(),
                access_token: access_token.clone(),
                expires_at,
            },
        );
        Grant {
            access_token,
            expires_in: ACCESS_LIFETIME.as_secs(),
            refresh_token,
            openid: openid.to_owned(),
            scope: "userinfo",
        }
    }
}

impl Store {
    pub fn new(users: Vec<SimUser>, auto_users: bool) -> Self {
        let store = Self {
            state: Mutex::new(State {
                auto_users,
                ..State::default()
            }),
        };
        for user in users {
            store.add_user(user);
        }
        store
    }

    pub fn users(&self) -> Vec<SimUser> {
        self.state.lock().users.clone()
    }

    pub fn add_user(&self, user: SimUser) {
        // Replace in place, so the consent page's default user stays first.
        let mut state = self.state.lock();
        state.put_user(user);
    }

    /// Every access and refresh token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.state.lock();
        state
            .access
            .keys()
            .chain(state.refresh.keys())
            .cloned()
            .collect()
    }

    /// Moves the clock forward by `by`, at most to [`MAX_CLOCK_OFFSET`] in
    /// all; returns how far it has been moved since the start, or `None`
    /// (and leaves it) if that would pass the limit.
    pub fn advance_clock(&self, by: Duration) -> Option<Duration> {
        let mut state = self.state.lock();
        let offset = state
            .offset
            .checked_add(by)
            .filter(|o| *o <= MAX_CLOCK_OFFSET)?;
        state.offset = offset;
        Some(offset)
    }

    /// How far the clock has been moved forward since the start.
    pub fn clock_offset(&self) -> Duration {
        self.state.lock().offset
    }

    /// Whether a user has this openid.
    pub fn has_user(&self, openid: &str) -> bool {
        self.state.lock().user(openid).is_some()
    }

    /// Forgets every code and token, the calls counted, and the clock's
    /// moves; the users stay.
    pub fn reset(&self) {
        let mut state = self.state.lock();
        state.offset = Duration::ZERO;
        state.codes.clear();
        state.access.clear();
        state.refresh.clear();
        state.calls.clear();
    }

    pub fn count(&self, endpoint: Endpoint) {
        *self.state.lock().calls.entry(endpoint).or_default() += 1;
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.state.lock().calls.get(&endpoint).copied().unwrap_or(0)
    }

    pub fn issue_code(&self, openid: &str) -> Option<String> {
        let mut state = self.state.lock();
        if state.user(openid).is_none() {
            if !state.auto_users || openid.is_empty() {
                return None;
            }
            state.put_user(SimUser {
                openid: openid.to_owned(),
                username: format!("player-{}", openid.chars().take(24).collect::<String>()),
                photo: String::new(),
            });
        }
        let now = state.now();
        if state.codes.len() >= MAX_CODES {
            state.codes.retain(|_, (_, expires_at)| *expires_at > now);
        }
        if state.codes.len() >= MAX_CODES {
            // Still full of live codes: one of them goes, as if it expired.
            if let Some(any) = state.codes.keys().next().cloned() {
                state.codes.remove(&any);
            }
        }
        let code = token();
        let expires_at = now + CODE_LIFETIME;
        state
            .codes
            .insert(code.clone(), (openid.to_owned(), expires_at));
        Some(code)
    }

    /// Codes are single use: redeeming one removes it, expired or not.
    pub fn redeem_code(&self, code: &str) -> Result<Grant, StoreError> {
        let mut state = self.state.lock();
        let (openid, expires_at) = state.codes.remove(code).ok_or(StoreError::CodeExpired)?;
        if expires_at <= state.now() {
            return Err(StoreError::CodeExpired);
        }
        Ok(state.grant(&openid, None))
    }

    /// As documented: an expired access token is replaced by a new one; a
    /// live one has its life extended to 2 h.
    pub fn refresh(&self, refresh_token: &str) -> Result<Grant, StoreError> {
        let mut state = self.state.lock();
        let now = state.now();
        let refresh = state
            .refresh
            .get(refresh_token)
            .filter(|r| r.expires_at > now)
            .ok_or(StoreError::RefreshExpired)?;
        let (openid, current) = (refresh.openid.clone(), refresh.access_token.clone());
        match state.access.get_mut(&current) {
            Some(access) if access.expires_at > now => {
                access.expires_at = now + ACCESS_LIFETIME;
                Ok(Grant {
                    access_token: current,
                    expires_in: ACCESS_LIFETIME.as_secs(),
                    refresh_token: refresh_token.to_owned(),
                    openid,
                    scope: "userinfo",
                })
            }
            _ => {
                state.access.remove(&current);
                Ok(state.grant(&openid, Some(refresh_token.to_owned())))
            }
        }
    }

    pub fn profile(&self, access_token: &str, openid: &str) -> Result<SimUser, StoreError> {
        let state = self.state.lock();
        let access = state
            .access
            .get(access_token)
            .ok_or(StoreError::AccessInvalid)?;
        if access.openid != openid {
            return Err(StoreError::AccessInvalid);
        }
        if access.expires_at <= state.now() {
            return Err(StoreError::AccessExpired);
        }
        state.user(openid).cloned().ok_or(StoreError::AccessInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::new(crate::SimConfig::demo_users(), false)
    }

    #[test]
    fn a_code_is_single_use_and_expires() {
        let store = store();
        let code = store.issue_code("openid-yxc").unwrap();
        assert!(store.redeem_code(&code).is_ok());
        assert_eq!(
            store.redeem_code(&code).unwrap_err(),
            StoreError::CodeExpired
        );
        let code = store.issue_code("openid-yxc").unwrap();
        store.advance_clock(CODE_LIFETIME);
        assert_eq!(
            store.redeem_code(&code).unwrap_err(),
            StoreError::CodeExpired
        );
        assert!(store.issue_code("nobody").is_none());
    }

    #[test]
    fn refresh_extends_a_live_token_and_replaces_an_expired_one() {
        let store = store();
        let code = store.issue_code("openid-alice").unwrap();
        let grant = store.redeem_code(&code).unwrap();
        store.advance_clock(Duration::from_secs(3600));
        let extended = store.refresh(&grant.refresh_token).unwrap();
        assert_eq!(extended.access_token, grant.access_token);
        store.advance_clock(Duration::from_secs(3 * 3600));
        assert_eq!(
            store
                .profile(&grant.access_token, "openid-alice")
                .unwrap_err(),
            StoreError::AccessExpired
        );
        let renewed = store.refresh(&grant.refresh_token).unwrap();
        assert_ne!(renewed.access_token, grant.access_token);
        assert_eq!(
            store
                .profile(&renewed.access_token, "openid-alice")
                .unwrap()
                .username,
            "alice"
        );
        store.advance_clock(REFRESH_LIFETIME);
        assert_eq!(
            store.refresh(&grant.refresh_token).unwrap_err(),
            StoreError::RefreshExpired
        );
    }
}
