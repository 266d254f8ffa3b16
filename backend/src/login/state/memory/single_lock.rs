//! The in-process store as it was before issue 18: everything behind one
//! lock. Kept only as the yardstick of `benches/state_store.rs` (the
//! `bench-baseline` feature, which only the backend's own tests and benches
//! turn on); the server never builds it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use hashbrown::HashTable;

use super::{
    client_key, counters, key_of, nanos_since, share_at, Slot, HOUSEKEEPING_PER_INSERT, LEVELS,
    SWEEP_CHUNK,
};
use crate::login::state::{StateEntry, StateShares, StateStore, StoreError};

/// One `Mutex` over a ring of slots in issue order, a `hashbrown`
/// index of their positions, and the per-network counts: the store every
/// apply_code and callback of the whole server waited on.
pub struct SingleLockStateStore {
    inner: Mutex<Inner>,
    cap: usize,
    shares: StateShares,
}

struct Inner {
    epoch: Instant,
    ring: VecDeque<Slot>,
    front_seq: u64,
    index: HashTable<u64>,
    counts: [HashMap<u64, u32>; LEVELS],
}

/// The index hashes by the state's own random bits.
fn hash_of(key: &[u64; 2]) -> u64 {
    key[1]
}

impl Inner {
    fn remove(&mut self, key: &[u64; 2]) -> Option<StateEntry> {
        let Inner {
            ring,
            front_seq,
            index,
            counts,
            epoch,
        } = self;
        let found = index.find_entry(hash_of(key), |&seq| {
            ring[(seq - *front_seq) as usize].key == *key
        });
        let (seq, _) = found.ok()?.remove();
        let slot = &mut ring[(seq - *front_seq) as usize];
        slot.live = false;
        for (level, net) in counters(slot.client_kind, slot.client)
            .into_iter()
            .flatten()
        {
            if let Some(count) = counts[level].get_mut(&net) {
                *count -= 1;
                if *count == 0 {
                    counts[level].remove(&net);
                }
            }
        }
        Some(slot.entry(*epoch))
    }

    fn pop_front(&mut self, expired_by: Option<u64>) -> bool {
        let Some(front) = self.ring.front() else {
            return false;
        };
        if front.live {
            if expired_by.is_some_and(|now| front.expires > now) {
                return false;
            }
            let key = front.key;
            self.remove(&key);
        }
        self.ring.pop_front();
        self.front_seq += 1;
        true
    }

    fn evict_oldest(&mut self) -> bool {
        while let Some(front) = self.ring.front() {
            let live = front.live;
            self.pop_front(None);
            if live {
                return true;
            }
        }
        false
    }
}

impl SingleLockStateStore {
    /// At most `cap` states, with `StateShares::of_cap`'s shares.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                epoch: Instant::now(),
                ring: VecDeque::new(),
                front_seq: 0,
                index: HashTable::new(),
                counts: Default::default(),
            }),
            cap: cap.max(1),
            shares: StateShares::of_cap(cap),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl StateStore for SingleLockStateStore {
    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError> {
        let Some(key) = key_of(&state) else {
            return Err(StoreError::Full);
        };
        let (client_kind, client) = client_key(entry.client);
        let mut inner = self.lock();
        let now = nanos_since(inner.epoch, Instant::now());
        for _ in 0..HOUSEKEEPING_PER_INSERT {
            if !inner.pop_front(Some(now)) {
                break;
            }
        }
        for (level, net) in counters(client_kind, client).into_iter().flatten() {
            let held = inner.counts[level].get(&net).copied().unwrap_or(0);
            if held as usize >= share_at(&self.shares, level) {
                return Err(StoreError::ClientFull);
            }
        }
        while inner.index.len() >= self.cap {
            if !inner.evict_oldest() {
                break;
            }
        }
        while inner.ring.len() >= 2 * self.cap {
            inner.pop_front(None);
        }
        for (level, net) in counters(client_kind, client).into_iter().flatten() {
            *inner.counts[level].entry(net).or_insert(0) += 1;
        }
        let expires = nanos_since(inner.epoch, entry.expires_at);
        let Inner {
            ring,
            front_seq,
            index,
            ..
        } = &mut *inner;
        let seq = *front_seq + ring.len() as u64;
        ring.push_back(Slot::new(key, client_kind, client, expires, &entry));
        index.insert_unique(hash_of(&key), seq, |&seq| {
            hash_of(&ring[(seq - *front_seq) as usize].key)
        });
        Ok(())
    }

    async fn outstanding(&self) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let now = nanos_since(inner.epoch, Instant::now());
        for _ in 0..SWEEP_CHUNK {
            if !inner.pop_front(Some(now)) {
                break;
            }
        }
        Ok(inner.index.len() as u64)
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        let Some(key) = key_of(state) else {
            return Ok(None);
        };
        Ok(self.lock().remove(&key))
    }
}

// What the benchmark compares must behave alike: the yardstick is checked
// on the paths the benchmark drives (issue, consume, a full store).
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::login::state::{consume, issue, Flow, StateRejection};

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn the_yardstick_is_single_use_and_evicts_the_oldest() {
        let store = SingleLockStateStore::new(3);
        let mut states = Vec::new();
        for _ in 0..5 {
            states.push(issue(&*store, Flow::Web, None, TTL).await.unwrap());
        }
        assert_eq!(store.outstanding().await, Ok(3));
        for (i, state) in states.iter().enumerate() {
            let expected = if i < 2 {
                Err(StateRejection::Unknown)
            } else {
                Ok(())
            };
            let r = consume(&*store, Some(state), Flow::Web, None).await;
            assert_eq!(r, Ok(expected), "state {i}");
        }
        let again = consume(&*store, Some(&states[4]), Flow::Web, None).await;
        assert_eq!(again, Ok(Err(StateRejection::Unknown)));
        assert_eq!(store.outstanding().await, Ok(0));
    }
}
