//! One-time login `state`s: issued by apply_code, consumed by receive_code.
//!
//! The storage sits behind [`StateStore`] so a shared store (Redis) can
//! replace the in-memory one when several servers run.

mod memory;
mod redis;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::secret::random_hex;

#[cfg(feature = "bench-baseline")]
pub use memory::single_lock::SingleLockStateStore;
pub use memory::MemoryStateStore;
pub use redis::RedisStateStore;

/// How many live states one network may hold, at each level it is counted
/// at. A state is refused (`StoreError::ClientFull`) if any network it
/// counts against already holds its share.
///
/// One IPv4 address, or one IPv6 /64 (what one subscriber gets), holds
/// `per_client`. Counting IPv6 per /64 alone would let anyone with a routed
/// /48 (a tunnel broker gives one away; many hosts route one to every
/// server) use 65,536 budgets and push the whole store through, evicting
/// every login waiting on AcWing's consent page. So an IPv6 client also
/// counts against its /56 (what ISPs commonly give one home or small
/// office) and its /48 (one site's whole allocation), each with a bigger
/// share than one /64 (many subscribers of one provider, or one campus,
/// can share a /48) but a bounded one: however many /64s it uses, one /48
/// holds at most a tenth of the store, so it takes ten separately
/// allocated /48s at full tilt to fill it, as it takes fifty IPv4
/// addresses. IPv4 is not grouped further: a /24 is often one provider's
/// NAT pool or one campus, not one party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateShares {
    /// One IPv4 address or one IPv6 /64.
    pub per_client: usize,
    /// One IPv6 /56.
    pub per_56: usize,
    /// One IPv6 /48.
    pub per_48: usize,
}

impl StateShares {
    /// The shares for a store of `cap` states: a fiftieth of it per client
    /// (at least 10), a twentieth per /56 and a tenth per /48, a wider
    /// network never holding less than a narrower one.
    pub fn of_cap(cap: usize) -> Self {
        Self {
            per_client: (cap / 50).max(10),
            per_56: cap / 20,
            per_48: cap / 10,
        }
        .normalized()
    }

    /// The shares of `of_cap(cap)`, but `per_client` per client (and the
    /// wider networks at least that).
    pub fn with_per_client(cap: usize, per_client: usize) -> Self {
        Self {
            per_client,
            ..Self::of_cap(cap)
        }
        .normalized()
    }

    /// Every share at least 1, and a wider network's at least a narrower
    /// one's: a /48 holding less than one of its /64s would make the /64's
    /// share meaningless.
    pub fn normalized(self) -> Self {
        let per_client = self.per_client.max(1);
        let per_56 = self.per_56.max(per_client);
        let per_48 = self.per_48.max(per_56);
        Self {
            per_client,
            per_56,
            per_48,
        }
    }
}

/// Which login flow a state was issued for; the other flow refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Web,
    AcApp,
}

/// A browser-binding nonce as stored: 128 bits of its SHA-256. A store
/// keeps 16 bytes per state whatever the nonce looked like, and never the
/// cookie's value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrowserTag(pub [u8; 16]);

impl BrowserTag {
    pub fn of(nonce: &str) -> BrowserTag {
        let digest = Sha256::digest(nonce.as_bytes());
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&digest[..16]);
        BrowserTag(tag)
    }
}

#[derive(Debug, Clone)]
pub struct StateEntry {
    pub flow: Flow,
    /// For the web flow, the tag of the browser that asked for the state.
    pub browser: Option<BrowserTag>,
    pub expires_at: Instant,
    /// The address that asked for it (for IPv6, its /64: see
    /// `client_ip::limit_key`), for the per-client and per-network quotas.
    /// Read when a state is stored; a store need not give it back from
    /// `take`.
    pub client: Option<IpAddr>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("too many logins are in progress")]
    Full,
    #[error("this client has too many logins in progress")]
    ClientFull,
    /// A shared store (Redis) did not answer; the next call tries again.
    #[error("the state store is unreachable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait StateStore: Send + Sync {
    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError>;
    /// Removes and returns the entry: a state can be taken once.
    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError>;
    /// States issued and neither used nor expired, for readiness and the
    /// `acapp_login_states_outstanding` gauge; for a shared store, a round
    /// trip (so it answers whether the store is reachable too).
    async fn outstanding(&self) -> Result<u64, StoreError>;
}

/// Why a presented state is refused. All of them are `invalid_state` to the
/// player; the variants exist for the log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateRejection {
    #[error("no state was given")]
    Missing,
    #[error("the state is unknown or was already used")]
    Unknown,
    #[error("the state has expired")]
    Expired,
    #[error("the state was issued for the other login flow")]
    WrongFlow,
    #[error("the state was issued to another browser")]
    WrongBrowser,
}

/// Bytes of randomness in a state.
const STATE_BYTES: usize = 16;

/// 128 bits from the thread-local CSPRNG, counted against no client.
pub async fn issue(
    store: &dyn StateStore,
    flow: Flow,
    browser: Option<String>,
    ttl: Duration,
) -> Result<String, StoreError> {
    issue_for(store, flow, browser, None, ttl).await
}

/// 128 bits from the thread-local CSPRNG, counted against `client`'s
/// quota: its address, or for IPv6 its /64, as the rate limits count it
/// (one subscriber holds a whole /64), and its /56 and /48 (see
/// [`StateShares`]).
pub async fn issue_for(
    store: &dyn StateStore,
    flow: Flow,
    browser: Option<String>,
    client: Option<IpAddr>,
    ttl: Duration,
) -> Result<String, StoreError> {
    let state = random_hex(STATE_BYTES);
    let entry = StateEntry {
        flow,
        browser: browser.as_deref().map(BrowserTag::of),
        expires_at: Instant::now() + ttl,
        client: client.map(crate::client_ip::limit_key),
    };
    store.insert(state.clone(), entry).await?;
    Ok(state)
}

/// Consumes `state` whatever the outcome, so a refused state cannot be retried.
pub async fn consume(
    store: &dyn StateStore,
    state: Option<&str>,
    flow: Flow,
    browser: Option<&str>,
) -> Result<Result<(), StateRejection>, StoreError> {
    let Some(state) = state.filter(|s| !s.is_empty()) else {
        return Ok(Err(StateRejection::Missing));
    };
    // Not a state we could have issued: no store round trip, and no
    // caller-chosen key name reaches Redis.
    if !crate::secret::is_random_hex(state, STATE_BYTES) {
        return Ok(Err(StateRejection::Unknown));
    }
    let Some(entry) = store.take(state).await? else {
        return Ok(Err(StateRejection::Unknown));
    };
    Ok(if entry.expires_at <= Instant::now() {
        Err(StateRejection::Expired)
    } else if entry.flow != flow {
        Err(StateRejection::WrongFlow)
    } else if entry.browser != browser.map(BrowserTag::of) {
        Err(StateRejection::WrongBrowser)
    } else {
        Ok(())
    })
}
