//! The in-process state store: the embedded default.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{BrowserTag, Flow, StateEntry, StateStore, StoreError};

/// Expired or dead entries cleared from the queue's front per insert: a
/// bounded amount of housekeeping, never a sweep.
const HOUSEKEEPING_PER_INSERT: usize = 4;
/// The background sweep releases the lock this often, so a request never
/// waits behind a long sweep.
const SWEEP_CHUNK: usize = 4096;

/// The in-process store, with a hard cap and a per-client quota.
///
/// Eviction policy: when the store is full, the **oldest** state is evicted
/// to make room; a new login is never refused for lack of room. All states
/// share one lifetime, so the oldest is the one closest to expiring and the
/// least likely to still be wanted (a real login comes back within a minute
/// or so). A client that already holds `per_client` live states is refused
/// (`rate_limited`) rather than allowed to push anyone else's out: one
/// client, or one NAT, can fill at most that share. Together with the
/// per-address rate limit, a flood from one client cannot lock anyone out,
/// and a flood from many addresses still lets every new login start, each
/// living at least `cap / flood rate` seconds.
///
/// Every operation on the request path is O(1) amortised: issue order is
/// kept in a queue (equal to expiry order), so eviction and expiry pop its
/// front; a used state leaves a tombstone there that is dropped when it
/// reaches the front. Expired states are cleared by a background sweep of
/// that front, which also gives memory back once the flood is over.
pub struct MemoryStateStore {
    inner: Mutex<Inner>,
    cap: usize,
    per_client: usize,
}

#[derive(Default)]
struct Inner {
    /// State (its 128 bits) → entry. Keys are integers, not strings: at a
    /// million states the difference is tens of megabytes.
    entries: HashMap<u128, Slot>,
    /// (state, seq) in issue order; stale pairs are tombstones.
    order: VecDeque<(u128, u64)>,
    /// Live states per client.
    per_client: HashMap<IpAddr, u32>,
    next_seq: u64,
    evicted: u64,
}

struct Slot {
    seq: u64,
    flow: Flow,
    browser: Option<BrowserTag>,
    expires_at: Instant,
    client: Option<IpAddr>,
}

/// A state as we mint it: 32 lowercase hex characters. Anything else is
/// unknown without a lookup.
fn key_of(state: &str) -> Option<u128> {
    let hex = state.len() == 32
        && state
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| u128::from_str_radix(state, 16).ok()).flatten()
}

impl Inner {
    fn is_live(&self, key: u128, seq: u64) -> bool {
        self.entries.get(&key).is_some_and(|slot| slot.seq == seq)
    }

    fn remove(&mut self, key: u128) -> Option<Slot> {
        let slot = self.entries.remove(&key)?;
        if let Some(client) = slot.client {
            if let Some(count) = self.per_client.get_mut(&client) {
                *count -= 1;
                if *count == 0 {
                    self.per_client.remove(&client);
                }
            }
        }
        Some(slot)
    }

    /// Pops the queue's front if it is a tombstone or (with `expired_by`)
    /// an expired state, or always (without it: eviction). Returns whether
    /// something was popped.
    fn pop_front(&mut self, expired_by: Option<Instant>) -> bool {
        let Some(&(key, seq)) = self.order.front() else {
            return false;
        };
        if self.is_live(key, seq) {
            let expired = match expired_by {
                Some(now) => self.entries[&key].expires_at <= now,
                None => true,
            };
            if !expired {
                return false;
            }
            self.remove(key);
            if expired_by.is_none() {
                self.evicted += 1;
            }
        }
        self.order.pop_front();
        true
    }

    /// Evicts the oldest live state; tombstones on the way are dropped.
    /// False if the queue held none (never, while every live state is in it).
    fn evict_oldest(&mut self) -> bool {
        while let Some(&(key, seq)) = self.order.front() {
            let live = self.is_live(key, seq);
            self.pop_front(None);
            if live {
                return true;
            }
        }
        false
    }
}

impl MemoryStateStore {
    /// At most `cap` states, and a fiftieth of that per client address.
    pub fn new(cap: usize) -> Arc<Self> {
        Self::with_client_share(cap, (cap / 50).max(10))
    }

    /// At most `cap` states, `per_client` of them per client address.
    pub fn with_client_share(cap: usize, per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            cap: cap.max(1),
            per_client: per_client.max(1),
        })
    }

    /// The lock is never held across an await or a panic-prone call; a
    /// poisoned lock still guards consistent data, so it is used as is.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// States evicted to make room since the start.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// Bytes held by the store's tables (capacity, not just length): what
    /// the sweep gives back.
    pub fn approx_heap_bytes(&self) -> usize {
        let inner = self.lock();
        inner.entries.capacity() * (std::mem::size_of::<(u128, Slot)>() + 1)
            + inner.order.capacity() * std::mem::size_of::<(u128, u64)>()
            + inner.per_client.capacity() * (std::mem::size_of::<(IpAddr, u32)>() + 1)
    }

    /// Clears expired states from the queue's front, a chunk per lock, then
    /// returns spare capacity once the tables are mostly empty. Runs off the
    /// request path.
    pub fn sweep(&self) {
        let now = Instant::now();
        loop {
            let mut inner = self.lock();
            let mut popped = 0;
            while popped < SWEEP_CHUNK && inner.pop_front(Some(now)) {
                popped += 1;
            }
            if popped < SWEEP_CHUNK {
                break;
            }
        }
        let mut inner = self.lock();
        let live = inner.entries.len();
        if inner.entries.capacity() > 4 * live.max(1024) {
            inner.entries.shrink_to_fit();
            inner.per_client.shrink_to_fit();
        }
        let queued = inner.order.len();
        if inner.order.capacity() > 4 * queued.max(1024) {
            inner.order.shrink_to_fit();
        }
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
        // Only our own minted states are stored (see `issue`).
        let Some(key) = key_of(&state) else {
            return Err(StoreError::Full);
        };
        let now = Instant::now();
        let mut inner = self.lock();
        for _ in 0..HOUSEKEEPING_PER_INSERT {
            if !inner.pop_front(Some(now)) {
                break;
            }
        }
        if let Some(client) = entry.client {
            let held = inner.per_client.get(&client).copied().unwrap_or(0);
            if held as usize >= self.per_client {
                return Err(StoreError::ClientFull);
            }
        }
        while inner.entries.len() >= self.cap {
            if !inner.evict_oldest() {
                break;
            }
        }
        // Tombstones are bounded too: past twice the cap, the front goes.
        while inner.order.len() >= 2 * self.cap {
            inner.pop_front(None);
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if let Some(client) = entry.client {
            *inner.per_client.entry(client).or_insert(0) += 1;
        }
        inner.order.push_back((key, seq));
        inner.entries.insert(
            key,
            Slot {
                seq,
                flow: entry.flow,
                browser: entry.browser,
                expires_at: entry.expires_at,
                client: entry.client,
            },
        );
        Ok(())
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        let Some(key) = key_of(state) else {
            return Ok(None);
        };
        Ok(self.lock().remove(key).map(|slot| StateEntry {
            flow: slot.flow,
            browser: slot.browser,
            expires_at: slot.expires_at,
            client: slot.client,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_store::{consume, issue, issue_for, StateRejection};

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_state_is_single_use() {
        let store = MemoryStateStore::with_client_share(10, 10);
        let state = issue(&*store, Flow::Acapp, None, TTL).await.unwrap();
        assert_eq!(state.len(), 32);
        let first = consume(&*store, Some(&state), Flow::Acapp, None).await;
        assert_eq!(first, Ok(Ok(())));
        let again = consume(&*store, Some(&state), Flow::Acapp, None).await;
        assert_eq!(again, Ok(Err(StateRejection::Unknown)));
        let forged = consume(&*store, Some("not-a-state"), Flow::Acapp, None).await;
        assert_eq!(forged, Ok(Err(StateRejection::Unknown)));
    }

    #[tokio::test]
    async fn flow_browser_and_expiry_are_checked() {
        let store = MemoryStateStore::with_client_share(10, 10);
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
    async fn a_full_store_evicts_the_oldest_and_never_refuses() {
        let store = MemoryStateStore::with_client_share(3, 10);
        let mut states = Vec::new();
        for _ in 0..5 {
            states.push(issue(&*store, Flow::Acapp, None, TTL).await.unwrap());
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.evicted(), 2);
        for (i, state) in states.iter().enumerate() {
            let r = consume(&*store, Some(state), Flow::Acapp, None).await;
            let expected = if i < 2 {
                Err(StateRejection::Unknown)
            } else {
                Ok(())
            };
            assert_eq!(r, Ok(expected), "state {i}");
        }
    }

    #[tokio::test]
    async fn one_client_cannot_take_more_than_its_share() {
        let store = MemoryStateStore::with_client_share(100, 2);
        let flooder: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let mine = issue_for(&*store, Flow::Acapp, None, Some(other), TTL)
            .await
            .unwrap();
        for _ in 0..2 {
            issue_for(&*store, Flow::Acapp, None, Some(flooder), TTL)
                .await
                .unwrap();
        }
        let refused = issue_for(&*store, Flow::Acapp, None, Some(flooder), TTL).await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        let r = consume(&*store, Some(&mine), Flow::Acapp, None).await;
        assert_eq!(r, Ok(Ok(())));
    }

    #[tokio::test]
    async fn the_sweep_clears_expired_states_and_frees_the_client_quota() {
        let store = MemoryStateStore::with_client_share(100, 1);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        issue_for(
            &*store,
            Flow::Web,
            None,
            Some(client),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.sweep();
        assert!(store.is_empty());
        issue_for(&*store, Flow::Web, None, Some(client), TTL)
            .await
            .unwrap();
    }
}
