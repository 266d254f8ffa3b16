//! One-time login `state`s: issued by apply_code, consumed by receive_code.
//!
//! The storage sits behind [`StateStore`] so a shared store (Redis) can
//! replace the in-memory one when several servers run.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;

use crate::secret::random_hex;

/// Which login flow a state was issued for; the other flow refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Web,
    Acapp,
}

#[derive(Debug, Clone)]
pub struct StateEntry {
    pub flow: Flow,
    /// For the web flow, the nonce of the browser that asked for the state.
    pub browser: Option<String>,
    pub expires_at: Instant,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("too many logins are in progress")]
    Full,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError>;
    /// Removes and returns the entry: a state can be taken once.
    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError>;
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

/// 128 bits from the OS CSPRNG.
pub async fn issue(
    store: &dyn StateStore,
    flow: Flow,
    browser: Option<String>,
    ttl: Duration,
) -> Result<String, StoreError> {
    let state = random_hex(16);
    let entry = StateEntry {
        flow,
        browser,
        expires_at: Instant::now() + ttl,
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
    let Some(entry) = store.take(state).await? else {
        return Ok(Err(StateRejection::Unknown));
    };
    Ok(if entry.expires_at <= Instant::now() {
        Err(StateRejection::Expired)
    } else if entry.flow != flow {
        Err(StateRejection::WrongFlow)
    } else if entry.browser.as_deref() != browser {
        Err(StateRejection::WrongBrowser)
    } else {
        Ok(())
    })
}

/// In-process store: a DashMap with a hard cap and a background sweep.
pub struct MemoryStateStore {
    entries: DashMap<String, StateEntry>,
    cap: usize,
}

impl MemoryStateStore {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            entries: DashMap::new(),
            cap,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn sweep(&self) {
        let now = Instant::now();
        self.entries.retain(|_, entry| entry.expires_at > now);
    }

    /// Sweeps every `every` until the store is dropped.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration) {
        let store: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match store.upgrade() {
                    Some(store) => store.sweep(),
                    None => break,
                }
            }
        });
    }
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError> {
        if self.entries.len() >= self.cap {
            // Expired entries may be all that fills it; only refuse if not.
            self.sweep();
            if self.entries.len() >= self.cap {
                return Err(StoreError::Full);
            }
        }
        self.entries.insert(state, entry);
        Ok(())
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        Ok(self.entries.remove(state).map(|(_, entry)| entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_state_is_single_use() {
        let store = MemoryStateStore::new(10);
        let state = issue(&*store, Flow::Acapp, None, TTL).await.unwrap();
        assert_eq!(state.len(), 32);
        let first = consume(&*store, Some(&state), Flow::Acapp, None).await;
        assert_eq!(first, Ok(Ok(())));
        let again = consume(&*store, Some(&state), Flow::Acapp, None).await;
        assert_eq!(again, Ok(Err(StateRejection::Unknown)));
    }

    #[tokio::test]
    async fn flow_browser_and_expiry_are_checked() {
        let store = MemoryStateStore::new(10);
        let s = issue(&*store, Flow::Web, Some("b1".into()), TTL)
            .await
            .unwrap();
        let r = consume(&*store, Some(&s), Flow::Acapp, Some("b1")).await;
        assert_eq!(r, Ok(Err(StateRejection::WrongFlow)));
        let s = issue(&*store, Flow::Web, Some("b1".into()), TTL)
            .await
            .unwrap();
        let r = consume(&*store, Some(&s), Flow::Web, Some("b2")).await;
        assert_eq!(r, Ok(Err(StateRejection::WrongBrowser)));
        let s = issue(&*store, Flow::Web, None, Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let r = consume(&*store, Some(&s), Flow::Web, None).await;
        assert_eq!(r, Ok(Err(StateRejection::Expired)));
        let r = consume(&*store, None, Flow::Web, None).await;
        assert_eq!(r, Ok(Err(StateRejection::Missing)));
    }

    #[tokio::test]
    async fn the_cap_holds_but_expired_entries_make_room() {
        let store = MemoryStateStore::new(2);
        let short = Duration::from_millis(1);
        issue(&*store, Flow::Web, None, short).await.unwrap();
        issue(&*store, Flow::Web, None, TTL).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        issue(&*store, Flow::Web, None, TTL).await.unwrap();
        let full = issue(&*store, Flow::Web, None, TTL).await;
        assert_eq!(full, Err(StoreError::Full));
        assert_eq!(store.len(), 2);
    }
}
