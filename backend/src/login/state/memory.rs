//! The in-process state store: the embedded default.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hashbrown::HashTable;

use super::{BrowserTag, Flow, StateEntry, StateShares, StateStore, StoreError};

/// Expired or dead entries cleared from the queue's front per insert: a
/// bounded amount of housekeeping, never a sweep.
const HOUSEKEEPING_PER_INSERT: usize = 4;
/// The background sweep releases the lock this often, so a request never
/// waits behind a long sweep.
const SWEEP_CHUNK: usize = 4096;

/// The in-process store, with a hard cap and per-client and per-network
/// quotas.
///
/// Eviction policy: when the store is full, the **oldest** state is evicted
/// to make room; a new login is never refused for lack of room. All states
/// share one lifetime, so the oldest is the one closest to expiring and the
/// least likely to still be wanted (a real login comes back within a minute
/// or so). A client that already holds its share of live states is
/// refused (`rate_limited`) rather than allowed to push anyone else's out:
/// one client, or one NAT, can fill at most that share. An IPv6 client is
/// counted per /64, /56 and /48, each with its own share (see
/// [`StateShares`]), and refused if any of them is full: one network holds
/// a bounded share however many /64s it uses. Together with the
/// per-address rate limit, a flood from one client cannot lock anyone out,
/// and a flood from many addresses still lets every new login start, each
/// living at least `cap / flood rate` seconds.
///
/// Every operation on the request path is O(1) amortised: states live in a
/// ring in issue order (equal to expiry order), so eviction and expiry pop
/// its front; a used state stays there as a tombstone until it reaches the
/// front. Expired states are cleared by a background sweep of that front,
/// which also gives memory back once a flood is over.
///
/// Memory: a state costs one 56-byte slot in the ring plus one 8-byte
/// position in a hash index that hashes by the state's own random bits
/// (the index stores positions only, as `indexmap` does, not a second copy
/// of the key). The quota counts are per network, not per state: a slot
/// keeps only its client's /64 (or IPv4 address), and the /56 and /48 are
/// derived from it. Measured at a million states: see docs/security.md.
pub struct MemoryStateStore {
    inner: Mutex<Inner>,
    cap: usize,
    shares: StateShares,
}

/// What kind of client a slot's `client` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    /// Counted against no client.
    None,
    /// An IPv4 address, in the low 32 bits.
    V4,
    /// An IPv6 /64: the address's high 64 bits.
    V6,
}

/// The levels a client is counted at, as indexes into `Inner::counts`.
/// IPv4 addresses and IPv6 /64s have separate tables, so no IPv6 prefix can
/// ever share a count with an IPv4 address.
const LEVEL_V4: usize = 0;
const LEVEL_64: usize = 1;
const LEVEL_56: usize = 2;
const LEVEL_48: usize = 3;
const LEVELS: usize = 4;

/// The counts a state of this client is charged to: (level, key at that
/// level). The /56 and /48 come from the stored /64 itself, so a slot
/// holds no more than it did with one level.
fn counters(kind: ClientKind, client: u64) -> [Option<(usize, u64)>; 3] {
    match kind {
        ClientKind::None => [None; 3],
        ClientKind::V4 => [Some((LEVEL_V4, client)), None, None],
        ClientKind::V6 => [
            Some((LEVEL_64, client)),
            Some((LEVEL_56, client >> (64 - 56))),
            Some((LEVEL_48, client >> (64 - 48))),
        ],
    }
}

struct Inner {
    epoch: Instant,
    /// Every state issued and not yet popped, oldest first.
    ring: VecDeque<Slot>,
    /// The sequence number of `ring[0]`; a state's position is its
    /// sequence number minus this.
    front_seq: u64,
    /// Sequence numbers of the live states, found by their key.
    index: HashTable<u64>,
    /// Live states per network, one table per level (`LEVEL_*`): per IPv4
    /// address, per IPv6 /64, /56 and /48. A network is in its table while
    /// it holds a live state.
    counts: [HashMap<u64, u32>; LEVELS],
    evicted: u64,
}

/// One issued state. Tombstones keep their key until popped.
struct Slot {
    key: [u64; 2],
    /// The client's IPv4 address or IPv6 /64, as `client_kind` says.
    client: u64,
    /// Milliseconds after the store's epoch.
    expires_ms: u64,
    browser: Option<BrowserTag>,
    flow: Flow,
    live: bool,
    client_kind: ClientKind,
}

// A slot is most of a state's memory: it must not grow past 56 bytes.
const _: () = assert!(std::mem::size_of::<Slot>() <= 56);

/// A state as we mint it: 32 lowercase hex characters. Anything else is
/// unknown without a lookup.
fn key_of(state: &str) -> Option<[u64; 2]> {
    let hex = state.len() == 32
        && state
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let n = hex
        .then(|| u128::from_str_radix(state, 16).ok())
        .flatten()?;
    Some([(n >> 64) as u64, n as u64])
}

/// Keys are CSPRNG output, so their own bits are a good hash; an attacker
/// can present any key, but cannot choose the keys stored.
fn hash_of(key: &[u64; 2]) -> u64 {
    key[1]
}

/// A client address as the quota counts it: an IPv4 address, or an IPv6
/// /64 (one subscriber's prefix).
fn client_key(ip: Option<IpAddr>) -> (ClientKind, u64) {
    match ip {
        None => (ClientKind::None, 0),
        Some(IpAddr::V4(v4)) => (ClientKind::V4, u64::from(u32::from(v4))),
        Some(IpAddr::V6(v6)) => (ClientKind::V6, (u128::from(v6) >> 64) as u64),
    }
}

impl Inner {
    fn new() -> Self {
        Inner {
            epoch: Instant::now(),
            ring: VecDeque::new(),
            front_seq: 0,
            index: HashTable::new(),
            counts: Default::default(),
            evicted: 0,
        }
    }

    fn ms_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Takes the live state `key` out of the index and the quota, leaving a
    /// tombstone in the ring.
    fn remove(&mut self, key: &[u64; 2]) -> Option<StateEntry> {
        let Inner {
            ring,
            front_seq,
            index,
            counts,
            epoch,
            ..
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
        Some(StateEntry {
            flow: slot.flow,
            browser: slot.browser,
            expires_at: *epoch + Duration::from_millis(slot.expires_ms),
            client: None,
        })
    }

    /// Pops the ring's front if it is a tombstone or (with `expired_by`)
    /// expired, or always (without it: eviction). Returns whether
    /// something was popped.
    fn pop_front(&mut self, expired_by: Option<u64>) -> bool {
        let Some(front) = self.ring.front() else {
            return false;
        };
        if front.live {
            if expired_by.is_some_and(|now| front.expires_ms > now) {
                return false;
            }
            let key = front.key;
            self.remove(&key);
            if expired_by.is_none() {
                self.evicted += 1;
            }
        }
        self.ring.pop_front();
        self.front_seq += 1;
        true
    }

    /// Evicts the oldest live state; tombstones on the way are dropped.
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

    fn shrink(&mut self) {
        let Inner {
            ring,
            front_seq,
            index,
            counts,
            ..
        } = self;
        if index.capacity() > 4 * index.len().max(1024) {
            index.shrink_to_fit(|&seq| hash_of(&ring[(seq - *front_seq) as usize].key));
            for count in counts.iter_mut() {
                count.shrink_to_fit();
            }
        }
        if ring.capacity() > 4 * ring.len().max(1024) {
            ring.shrink_to_fit();
        }
    }
}

impl MemoryStateStore {
    /// At most `cap` states, and the shares of `StateShares::of_cap`: a
    /// fiftieth of that per client address, a twentieth per IPv6 /56, a
    /// tenth per /48.
    pub fn new(cap: usize) -> Arc<Self> {
        Self::with_shares(cap, StateShares::of_cap(cap))
    }

    /// At most `cap` states, `per_client` of them per client address (or
    /// IPv6 /64); the /56 and /48 shares are `StateShares::of_cap`'s.
    pub fn with_client_share(cap: usize, per_client: usize) -> Arc<Self> {
        Self::with_shares(cap, StateShares::with_per_client(cap, per_client))
    }

    /// At most `cap` states, and `shares` per network at each level.
    pub fn with_shares(cap: usize, shares: StateShares) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::new()),
            cap: cap.max(1),
            shares: shares.normalized(),
        })
    }

    /// The share of a network at `level` (a `LEVEL_*`).
    fn share(&self, level: usize) -> usize {
        match level {
            LEVEL_V4 | LEVEL_64 => self.shares.per_client,
            LEVEL_56 => self.shares.per_56,
            _ => self.shares.per_48,
        }
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

    /// States held: live ones, and expired ones not yet cleared (the sweep
    /// and each insert clear them). See `outstanding` for the gauge.
    pub fn len(&self) -> usize {
        self.lock().index.len()
    }

    /// States issued and neither used nor expired, for the
    /// `acapp_login_states_outstanding` gauge. Expired states sit at the
    /// ring's front (it is in issue order, and every state has the same
    /// lifetime), so they are popped from there first: at most
    /// `SWEEP_CHUNK` per call, a bounded amount of work under the lock,
    /// never a sweep. Only if more than that expired since the last sweep
    /// (every 10 s) is the rest still counted, until the sweep.
    pub fn outstanding(&self) -> usize {
        let mut inner = self.lock();
        let now = inner.ms_of(Instant::now());
        for _ in 0..SWEEP_CHUNK {
            if !inner.pop_front(Some(now)) {
                break;
            }
        }
        inner.index.len()
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
        inner.ring.capacity() * std::mem::size_of::<Slot>()
            + inner.index.capacity() * (std::mem::size_of::<u64>() + 1)
            + inner
                .counts
                .iter()
                .map(|count| count.capacity() * (std::mem::size_of::<(u64, u32)>() + 1))
                .sum::<usize>()
    }

    /// Clears expired states from the ring's front, a chunk per lock, then
    /// returns spare capacity once the tables are mostly empty. Runs off the
    /// request path.
    pub fn sweep(&self) {
        loop {
            let mut inner = self.lock();
            let now = inner.ms_of(Instant::now());
            let mut popped = 0;
            while popped < SWEEP_CHUNK && inner.pop_front(Some(now)) {
                popped += 1;
            }
            if popped < SWEEP_CHUNK {
                break;
            }
        }
        self.lock().shrink();
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
        let (client_kind, client) = client_key(entry.client);
        let mut inner = self.lock();
        let now = inner.ms_of(Instant::now());
        for _ in 0..HOUSEKEEPING_PER_INSERT {
            if !inner.pop_front(Some(now)) {
                break;
            }
        }
        // Refused if any network the client is in holds its share.
        for (level, net) in counters(client_kind, client).into_iter().flatten() {
            let held = inner.counts[level].get(&net).copied().unwrap_or(0);
            if held as usize >= self.share(level) {
                return Err(StoreError::ClientFull);
            }
        }
        while inner.index.len() >= self.cap {
            if !inner.evict_oldest() {
                break;
            }
        }
        // Tombstones are bounded too: past twice the cap, the front goes.
        while inner.ring.len() >= 2 * self.cap {
            inner.pop_front(None);
        }
        for (level, net) in counters(client_kind, client).into_iter().flatten() {
            *inner.counts[level].entry(net).or_insert(0) += 1;
        }
        let expires_ms = inner.ms_of(entry.expires_at);
        let Inner {
            ring,
            front_seq,
            index,
            ..
        } = &mut *inner;
        let seq = *front_seq + ring.len() as u64;
        ring.push_back(Slot {
            key,
            client,
            expires_ms,
            browser: entry.browser,
            flow: entry.flow,
            live: true,
            client_kind,
        });
        index.insert_unique(hash_of(&key), seq, |&seq| {
            hash_of(&ring[(seq - *front_seq) as usize].key)
        });
        Ok(())
    }

    async fn outstanding(&self) -> Result<u64, StoreError> {
        Ok(MemoryStateStore::outstanding(self) as u64)
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        let Some(key) = key_of(state) else {
            return Ok(None);
        };
        Ok(self.lock().remove(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::state::{consume, issue, issue_for, StateRejection};

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_state_is_single_use() {
        let store = MemoryStateStore::with_client_share(10, 10);
        let state = issue(&*store, Flow::AcApp, None, TTL).await.unwrap();
        assert_eq!(state.len(), 32);
        let first = consume(&*store, Some(&state), Flow::AcApp, None).await;
        assert_eq!(first, Ok(Ok(())));
        let again = consume(&*store, Some(&state), Flow::AcApp, None).await;
        assert_eq!(again, Ok(Err(StateRejection::Unknown)));
        let forged = consume(&*store, Some("not-a-state"), Flow::AcApp, None).await;
        assert_eq!(forged, Ok(Err(StateRejection::Unknown)));
    }

    #[tokio::test]
    async fn flow_browser_and_expiry_are_checked() {
        let store = MemoryStateStore::with_client_share(10, 10);
        let s = issue(&*store, Flow::Web, Some("b1".into()), TTL)
            .await
            .unwrap();
        let r = consume(&*store, Some(&s), Flow::AcApp, Some("b1")).await;
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
            states.push(issue(&*store, Flow::AcApp, None, TTL).await.unwrap());
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.evicted(), 2);
        for (i, state) in states.iter().enumerate() {
            let r = consume(&*store, Some(state), Flow::AcApp, None).await;
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
        let mine = issue_for(&*store, Flow::AcApp, None, Some(other), TTL)
            .await
            .unwrap();
        for _ in 0..2 {
            issue_for(&*store, Flow::AcApp, None, Some(flooder), TTL)
                .await
                .unwrap();
        }
        let refused = issue_for(&*store, Flow::AcApp, None, Some(flooder), TTL).await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        let r = consume(&*store, Some(&mine), Flow::AcApp, None).await;
        assert_eq!(r, Ok(Ok(())));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn an_ipv6_network_is_held_to_its_share_at_every_level() {
        let shares = StateShares {
            per_client: 2,
            per_56: 3,
            per_48: 5,
        };
        let store = MemoryStateStore::with_shares(1000, shares);
        let issue_from = |client: &str| {
            let (store, client) = (store.clone(), ip(client));
            async move { issue_for(&*store, Flow::Web, None, Some(client), TTL).await }
        };
        // In 2001:db8:1::/48, /56 2001:db8:1::/56: two /64s, three states.
        let a1 = issue_from("2001:db8:1:1::1").await.unwrap();
        issue_from("2001:db8:1:1::2").await.unwrap();
        issue_from("2001:db8:1:2::1").await.unwrap();
        // The first /64 is full.
        let refused = issue_from("2001:db8:1:1::3").await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        // A new /64 of the full /56 (its /48 holds 3 of 5).
        let refused = issue_from("2001:db8:1:3::1").await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        // Another /56 of the /48 gets in, up to the /48's share.
        issue_from("2001:db8:1:100::1").await.unwrap();
        issue_from("2001:db8:1:100::2").await.unwrap();
        // A new /64 in a new /56 of the full /48.
        let refused = issue_from("2001:db8:1:200::1").await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        let refused = issue_from("2001:db8:1:ffff:1:2:3:4").await;
        assert_eq!(refused, Err(StoreError::ClientFull));
        // Another /48, even its neighbour, and IPv4 get in.
        issue_from("2001:db8:2::1").await.unwrap();
        issue_from("2001:db8:0:ffff::1").await.unwrap();
        issue_from("192.0.2.1").await.unwrap();
        assert_eq!(store.len(), 8);
        assert_eq!(store.evicted(), 0);
        // Taking a state frees its /64, /56 and /48 at once: all three were
        // full.
        let r = consume(&*store, Some(&a1), Flow::Web, None).await;
        assert_eq!(r, Ok(Ok(())));
        issue_from("2001:db8:1:1::3").await.unwrap();
        assert_eq!(
            issue_from("2001:db8:1:200::1").await,
            Err(StoreError::ClientFull)
        );
    }

    #[tokio::test]
    async fn expiry_and_eviction_free_every_level() {
        let shares = StateShares {
            per_client: 1,
            per_56: 1,
            per_48: 1,
        };
        let store = MemoryStateStore::with_shares(2, shares);
        let short = Duration::from_millis(1);
        issue_for(&*store, Flow::Web, None, Some(ip("2001:db8:1:1::1")), short)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.sweep();
        assert!(store.is_empty());
        // Another /64 of the same /48: its /48 count went with the sweep.
        issue_for(&*store, Flow::Web, None, Some(ip("2001:db8:1:2::1")), TTL)
            .await
            .unwrap();
        // Two other /48s fill the store of 2: the first state is evicted,
        // and its /48 is free again.
        for client in ["2001:db8:2::1", "2001:db8:3::1"] {
            issue_for(&*store, Flow::Web, None, Some(ip(client)), TTL)
                .await
                .unwrap();
        }
        assert_eq!(store.evicted(), 1);
        issue_for(&*store, Flow::Web, None, Some(ip("2001:db8:1:3::1")), TTL)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn ipv4_addresses_are_not_grouped() {
        let shares = StateShares {
            per_client: 2,
            per_56: 3,
            per_48: 5,
        };
        let store = MemoryStateStore::with_shares(1000, shares);
        for i in 0..20 {
            let client = IpAddr::from([192, 0, 2, i]);
            for _ in 0..2 {
                issue_for(&*store, Flow::AcApp, None, Some(client), TTL)
                    .await
                    .unwrap();
            }
        }
        // IPv4 and IPv6 are counted apart: this /64's high bits are
        // 192.0.2.1's address with the top bit set, which a single table
        // of 64-bit keys could mistake for it.
        let lookalike = ip("8000:0:c000:201::1");
        issue_for(&*store, Flow::AcApp, None, Some(lookalike), TTL)
            .await
            .unwrap();
        assert_eq!(store.len(), 41);
    }

    /// The per-network counts are per network, but in the worst case every
    /// state comes from a /48 of its own and brings three entries (its
    /// /64, /56 and /48). Even then a state stays under 150 bytes.
    #[tokio::test]
    async fn the_counts_of_a_state_per_48_stay_small() {
        const N: usize = 100_000;
        let store = MemoryStateStore::with_shares(
            N,
            StateShares {
                per_client: N,
                per_56: N,
                per_48: N,
            },
        );
        for i in 0..N {
            let net = (0x2001_0000_0000_u128 + i as u128) << 80;
            let client = IpAddr::from(std::net::Ipv6Addr::from(net | 1));
            issue_for(&*store, Flow::AcApp, None, Some(client), TTL)
                .await
                .unwrap();
        }
        assert_eq!(store.len(), N);
        let per_state = store.approx_heap_bytes() / N;
        println!("{N} states, each from its own /48: {per_state} bytes a state");
        assert!(per_state < 150, "{per_state} bytes a state");
    }

    #[test]
    fn shares_come_from_the_cap_and_a_wider_network_never_holds_less() {
        let of = |cap| {
            let s = StateShares::of_cap(cap);
            (s.per_client, s.per_56, s.per_48)
        };
        assert_eq!(of(100_000), (2_000, 5_000, 10_000));
        assert_eq!(of(2_000), (40, 100, 200));
        assert_eq!(of(100), (10, 10, 10));
        let s = StateShares::with_per_client(100, 1);
        assert_eq!((s.per_client, s.per_56, s.per_48), (1, 10, 10));
        let s = StateShares::with_per_client(1_000, 500);
        assert_eq!((s.per_client, s.per_56, s.per_48), (500, 500, 500));
    }

    #[tokio::test]
    async fn outstanding_excludes_expired_states_without_a_sweep() {
        let store = MemoryStateStore::with_client_share(100, 100);
        for _ in 0..3 {
            issue(&*store, Flow::AcApp, None, Duration::from_millis(30))
                .await
                .unwrap();
        }
        let used = issue(&*store, Flow::AcApp, None, TTL).await.unwrap();
        issue(&*store, Flow::AcApp, None, TTL).await.unwrap();
        let r = consume(&*store, Some(&used), Flow::AcApp, None).await;
        assert_eq!(r, Ok(Ok(())));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.len(), 4, "three expired, not yet swept");
        assert_eq!(store.outstanding(), 1);
        assert_eq!(store.len(), 1, "reading the gauge cleared them");
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
