//! The in-process state store: the embedded default.

#[cfg(feature = "bench-baseline")]
pub mod single_lock;

use std::collections::VecDeque;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use super::{BrowserTag, Flow, StateEntry, StateShares, StateStore, StoreError};

/// Expired entries cleared from a ring's front per insert: a bounded amount
/// of housekeeping, never a sweep.
const HOUSEKEEPING_PER_INSERT: usize = 4;
/// The background sweep releases a ring's lock this often, so a request
/// never waits behind a long sweep.
const SWEEP_CHUNK: usize = 4096;
/// An eviction reads every ring's front, so their number stays small
/// however many cores there are.
const MAX_RINGS: usize = 64;
/// Room a ring has beyond its even part of the tombstone bound: states
/// fall on the rings at random, so a ring's part of them is uneven, and a
/// tiny store would otherwise have rings of one slot.
const RING_SLACK: usize = 64;
/// `MemoryStateStore::fronts` of a ring with no live state.
const EMPTY: u64 = u64::MAX;

/// The in-process store, with a hard cap and per-client and per-network
/// quotas, for many cores at once.
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
/// Locks: nothing is behind one lock for the whole store (the store this
/// replaced had one, see `single_lock`, and on many cores every apply_code
/// and callback queued on it). States live in a few **rings** (a power of
/// two, about four per core, at most 64), each in issue order behind its
/// own mutex; a state's ring is fixed by its own random bits. The **index**
/// (state → position in its ring) and the **per-network counts** are
/// `DashMap`s, whose many shards are locked separately. The cap is one
/// atomic count of live states. A thread holds at most one ring's lock at a
/// time, and takes a map shard's lock only briefly, inside a ring's lock or
/// with none, never waiting for a ring while holding a shard: so no lock
/// waits in a circle. An index entry is changed only under its ring's lock,
/// which keeps the index and the rings in step.
///
/// Every operation on the request path is O(1) amortised: a ring's front
/// is its oldest state, so eviction and expiry pop fronts; a used state
/// stays in its ring as a tombstone until it reaches the front, and then
/// goes at once, so a ring's front is always live. Each ring publishes its
/// front's expiry in an atomic; eviction picks the ring whose front expires
/// first (a read of at most 64 atomics, no lock) and pops it. Done one at a
/// time, that is exactly the oldest state; with threads racing, a front
/// that another thread just took is passed over for the next-oldest one,
/// so under contention eviction is oldest-first to within the states issued
/// at that moment. The cap and the shares are never exceeded once every
/// insert is done; while inserts are in flight, the cap may be passed by
/// at most their number (each evicts after it is counted), and a client
/// refused at its /56 gives back its /64's count a moment later, so a
/// concurrent request from its /64 may be refused in that moment. Expired
/// states are cleared by a background sweep of the fronts, a chunk per
/// lock, which also gives memory back once a flood is over.
///
/// Memory: a state costs one 56-byte slot in a ring plus a 12-byte index
/// entry (64 of the state's random bits, stored as two `u32`s so that the
/// entry has no padding, and its position): the slot holds the whole
/// state, so the index needs no second copy of it, and is hashed by the
/// state's own bits. Two states sharing those 64 bits (a chance of about
/// one in 2^64 divided by the states held) are told apart by the slot's
/// full 128: the older one is evicted. The quota counts are per network,
/// not per state: a slot keeps only its client's /64 (or IPv4 address),
/// and the /56 and /48 are derived from it. Measured at a million states:
/// see docs/security.md.
pub struct MemoryStateStore {
    epoch: Instant,
    rings: Box<[Ring]>,
    /// The expiry of each ring's front (its oldest live state), or `EMPTY`:
    /// written under that ring's lock, read without it to choose whom to
    /// evict. Side by side, so that the choice reads a few cache lines.
    fronts: Box<[AtomicU64]>,
    /// Position of each live state in its ring, by 64 of its bits.
    index: DashMap<Bits64, u32, BuildHasherDefault<OwnBits>>,
    /// Live states per network, one map per level (`LEVEL_*`): per IPv4
    /// address, per IPv6 /64, /56 and /48. A network is in its map while
    /// it holds a live state. Keyed by client addresses, so hashed with
    /// the default keyed hasher.
    counts: [DashMap<Bits64, u32>; LEVELS],
    /// Live states in all rings.
    live: AtomicUsize,
    evicted: AtomicU64,
    cap: usize,
    /// A ring longer than this (tombstones included) evicts its front.
    ring_bound: usize,
    shares: StateShares,
}

/// A ring's lock on its own cache lines, so that rings locked by different
/// cores do not slow each other down.
#[repr(align(128))]
struct Ring(Mutex<RingSlots>);

/// A ring's states in issue order. Its front is live, or it is empty.
struct RingSlots {
    slots: VecDeque<Slot>,
    /// The position of `slots[0]`; a state's index entry is its position,
    /// and its place in `slots` that minus this. Both wrap: a ring never
    /// holds 2^32 slots.
    front_seq: u32,
}

/// 64 bits at the alignment of a `u32`: a map entry of these and a `u32`
/// takes 12 bytes, where a `u64` key would pad it to 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits64([u32; 2]);

impl Bits64 {
    fn of(bits: u64) -> Self {
        Bits64([(bits >> 32) as u32, bits as u32])
    }

    fn get(self) -> u64 {
        (u64::from(self.0[0]) << 32) | u64::from(self.0[1])
    }
}

impl Hash for Bits64 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.get());
    }
}

/// The index's hasher: states are CSPRNG output, so their own bits are a
/// good hash. An attacker can present any state, but cannot choose the
/// states stored, so cannot lengthen a probe.
#[derive(Default)]
struct OwnBits(u64);

impl Hasher for OwnBits {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (see `Bits64`); anything else is folded
        // in rather than dropped.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, bits: u64) {
        self.0 = bits;
    }

    fn finish(&self) -> u64 {
        self.0
    }
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

/// The levels a client is counted at, as indexes into the counts.
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

/// The share of a network at `level` (a `LEVEL_*`). Counts are `u32`s, so a
/// share never goes past what they hold.
fn share_at(shares: &StateShares, level: usize) -> usize {
    let share = match level {
        LEVEL_V4 | LEVEL_64 => shares.per_client,
        LEVEL_56 => shares.per_56,
        _ => shares.per_48,
    };
    share.min(u32::MAX as usize)
}

/// One issued state. Tombstones keep their key until popped.
struct Slot {
    key: [u64; 2],
    /// The client's IPv4 address or IPv6 /64, as `client_kind` says.
    client: u64,
    /// Nanoseconds after the store's epoch; never `EMPTY`.
    expires: u64,
    browser: Option<BrowserTag>,
    flow: Flow,
    live: bool,
    client_kind: ClientKind,
}

// A slot is most of a state's memory: it must not grow past 56 bytes.
const _: () = assert!(std::mem::size_of::<Slot>() <= 56);

impl Slot {
    fn new(
        key: [u64; 2],
        client_kind: ClientKind,
        client: u64,
        expires: u64,
        entry: &StateEntry,
    ) -> Slot {
        Slot {
            key,
            client,
            expires,
            browser: entry.browser,
            flow: entry.flow,
            live: true,
            client_kind,
        }
    }

    /// The entry `take` gives back (without the client, which it need not).
    fn entry(&self, epoch: Instant) -> StateEntry {
        StateEntry {
            flow: self.flow,
            browser: self.browser,
            expires_at: epoch + Duration::from_nanos(self.expires),
            client: None,
        }
    }
}

/// Nanoseconds from `epoch` to `at`, short of `EMPTY`: 584 years.
fn nanos_since(epoch: Instant, at: Instant) -> u64 {
    let nanos = at.saturating_duration_since(epoch).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX).min(EMPTY - 1)
}

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

/// The 64 bits of a state its index entry is found by.
fn index_key(key: &[u64; 2]) -> Bits64 {
    Bits64::of(key[1])
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

/// Whether a ring's front goes only once expired, or whatever it is.
#[derive(Clone, Copy)]
enum Pop {
    ExpiredBy(u64),
    Always,
}

/// About four rings per core, as `DashMap` has shards.
fn default_rings() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from) * 4
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
        Self::with_rings(cap, shares, default_rings())
    }

    /// As `with_shares`, on `rings` rings (rounded to a power of two, at
    /// most `MAX_RINGS`).
    fn with_rings(cap: usize, shares: StateShares, rings: usize) -> Arc<Self> {
        let rings = rings.clamp(1, MAX_RINGS).next_power_of_two();
        let cap = cap.max(1);
        // Tombstones are bounded too: a ring past its part of twice the cap
        // evicts its front.
        let ring_bound = (2 * cap)
            .div_ceil(rings)
            .saturating_add(RING_SLACK)
            .min(u32::MAX as usize / 2);
        Arc::new(Self {
            epoch: Instant::now(),
            rings: (0..rings)
                .map(|_| {
                    Ring(Mutex::new(RingSlots {
                        slots: VecDeque::new(),
                        front_seq: 0,
                    }))
                })
                .collect(),
            fronts: (0..rings).map(|_| AtomicU64::new(EMPTY)).collect(),
            index: DashMap::default(),
            counts: Default::default(),
            live: AtomicUsize::new(0),
            evicted: AtomicU64::new(0),
            cap,
            ring_bound,
            shares: shares.normalized(),
        })
    }

    /// A state's ring, from bits of it that neither the index's shards
    /// (its top bits) nor its buckets (its low bits) use.
    fn ring_of(&self, key: &[u64; 2]) -> usize {
        (key[1] >> 32) as usize & (self.rings.len() - 1)
    }

    /// No ring lock is held across an await or a panic-prone call; a
    /// poisoned one still guards consistent data, so it is used as is.
    fn lock(&self, ring: usize) -> MutexGuard<'_, RingSlots> {
        self.rings[ring]
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> u64 {
        nanos_since(self.epoch, Instant::now())
    }

    /// Counts a state against each network its client is in, or none of
    /// them if any holds its share.
    fn charge(&self, kind: ClientKind, client: u64) -> Result<(), StoreError> {
        let nets = counters(kind, client);
        for (i, &(level, net)) in nets.iter().flatten().enumerate() {
            let share = share_at(&self.shares, level);
            let admitted = {
                let mut held = self.counts[level].entry(Bits64::of(net)).or_insert(0);
                let admitted = (*held as usize) < share;
                if admitted {
                    *held += 1;
                }
                admitted
            };
            if !admitted {
                for &(level, net) in nets.iter().flatten().take(i) {
                    self.uncount(level, net);
                }
                return Err(StoreError::ClientFull);
            }
        }
        Ok(())
    }

    /// Gives back what `charge` counted for a state.
    fn release(&self, kind: ClientKind, client: u64) {
        for (level, net) in counters(kind, client).into_iter().flatten() {
            self.uncount(level, net);
        }
    }

    fn uncount(&self, level: usize, net: u64) {
        if let Entry::Occupied(mut held) = self.counts[level].entry(Bits64::of(net)) {
            if *held.get() <= 1 {
                held.remove();
            } else {
                *held.get_mut() -= 1;
            }
        }
    }

    /// Drops the tombstones at ring `r`'s front, so that its front is live
    /// or it is empty, and publishes its front's expiry.
    fn settle(&self, r: usize, ring: &mut RingSlots) {
        while ring.slots.front().is_some_and(|front| !front.live) {
            ring.slots.pop_front();
            ring.front_seq = ring.front_seq.wrapping_add(1);
        }
        let front = ring.slots.front().map_or(EMPTY, |front| front.expires);
        self.fronts[r].store(front, Ordering::Relaxed);
    }

    /// Pops ring `r`'s front if `pop` lets it, with its index entry and its
    /// counts; returns whether a live state went. `live` is the caller's
    /// to lower (an eviction has lowered it in advance).
    fn pop_front(&self, r: usize, ring: &mut RingSlots, pop: Pop) -> bool {
        let Some(front) = ring.slots.front() else {
            return false;
        };
        if matches!(pop, Pop::ExpiredBy(now) if front.expires > now) {
            return false;
        }
        let seq = ring.front_seq;
        let was_live = front.live;
        if was_live {
            self.index
                .remove_if(&index_key(&front.key), |_, &at| at == seq);
            self.release(front.client_kind, front.client);
        }
        ring.slots.pop_front();
        ring.front_seq = seq.wrapping_add(1);
        self.settle(r, ring);
        was_live
    }

    /// Pops up to `most` expired states from ring `r`'s front, under its
    /// lock, and counts them out; returns how many went.
    fn pop_expired(&self, r: usize, ring: &mut RingSlots, now: u64, most: usize) -> usize {
        let mut popped = 0;
        while popped < most && self.pop_front(r, ring, Pop::ExpiredBy(now)) {
            popped += 1;
        }
        self.live.fetch_sub(popped, Ordering::Relaxed);
        popped
    }

    /// The ring whose front expires first, read without a lock.
    fn oldest_ring(&self) -> Option<usize> {
        self.fronts
            .iter()
            .enumerate()
            .map(|(r, front)| (front.load(Ordering::Relaxed), r))
            .filter(|&(expires, _)| expires != EMPTY)
            .min()
            .map(|(_, r)| r)
    }

    /// Evicts the state that expires first (every state has the same
    /// lifetime: the oldest) among the rings' fronts, without lowering
    /// `live`; returns whether one went. If another thread takes the chosen
    /// front first, it looks again, a bounded number of times.
    fn evict_oldest(&self) -> bool {
        for _ in 0..self.rings.len() {
            let Some(r) = self.oldest_ring() else {
                return false;
            };
            if self.pop_front(r, &mut self.lock(r), Pop::Always) {
                self.evicted.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// Evicts until no more than `cap` states are live. Each eviction is
    /// claimed by lowering `live` first, so racing inserts never evict one
    /// state too many between them.
    fn make_room(&self) {
        loop {
            let held = self.live.load(Ordering::Relaxed);
            if held <= self.cap {
                return;
            }
            let claimed = self.live.compare_exchange_weak(
                held,
                held - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if claimed.is_ok() && !self.evict_oldest() {
                // Nothing to evict yet (the states counted are being taken):
                // the claim goes back, and the next insert evicts.
                self.live.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }

    /// A live state that shared `seq`'s index bits with a newer one has
    /// lost its index entry: it goes as if evicted.
    fn evict_displaced(&self, r: usize, ring: &mut RingSlots, seq: u32) {
        let at = seq.wrapping_sub(ring.front_seq) as usize;
        let Some(slot) = ring.slots.get_mut(at).filter(|slot| slot.live) else {
            return;
        };
        slot.live = false;
        let (kind, client) = (slot.client_kind, slot.client);
        self.release(kind, client);
        self.live.fetch_sub(1, Ordering::Relaxed);
        self.evicted.fetch_add(1, Ordering::Relaxed);
        if at == 0 {
            self.settle(r, ring);
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// States held: live ones, and expired ones not yet cleared (the sweep
    /// and each insert clear them). See `outstanding` for the gauge.
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// States issued and neither used nor expired, for the
    /// `acapp_login_states_outstanding` gauge. Expired states sit at the
    /// rings' fronts (each is in issue order, and every state has the same
    /// lifetime), so they are popped from there first: at most
    /// `SWEEP_CHUNK` in all per call, a bounded amount of work under each
    /// lock, never a sweep. Only if more than that expired since the last
    /// sweep (every 10 s) is the rest still counted, until the sweep.
    pub fn outstanding(&self) -> usize {
        let now = self.now();
        let most = SWEEP_CHUNK.div_ceil(self.rings.len());
        for r in 0..self.rings.len() {
            self.pop_expired(r, &mut self.lock(r), now, most);
        }
        self.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// States evicted to make room since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Bytes held by the store's tables (capacity, not just length): what
    /// the sweep gives back.
    pub fn approx_heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Bits64, u32)>() + 1;
        let rings: usize = (0..self.rings.len())
            .map(|r| self.lock(r).slots.capacity() * std::mem::size_of::<Slot>())
            .sum();
        rings
            + self.index.capacity() * entry
            + self
                .counts
                .iter()
                .map(|count| count.capacity() * entry)
                .sum::<usize>()
    }

    /// Clears expired states from each ring's front, a chunk per lock, then
    /// returns spare capacity once the tables are mostly empty. Runs off the
    /// request path.
    pub fn sweep(&self) {
        for r in 0..self.rings.len() {
            loop {
                let now = self.now();
                if self.pop_expired(r, &mut self.lock(r), now, SWEEP_CHUNK) < SWEEP_CHUNK {
                    break;
                }
            }
        }
        self.shrink();
    }

    fn shrink(&self) {
        for r in 0..self.rings.len() {
            let mut ring = self.lock(r);
            if ring.slots.capacity() > 4 * ring.slots.len().max(256) {
                ring.slots.shrink_to_fit();
            }
        }
        // Shard by shard: each lock is held while that shard is rebuilt.
        if self.index.capacity() > 4 * self.index.len().max(1024) {
            self.index.shrink_to_fit();
            for count in &self.counts {
                count.shrink_to_fit();
            }
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
        let (client_kind, client) = client_key(entry.client);
        // Refused if any network the client is in holds its share.
        self.charge(client_kind, client)?;
        let expires = nanos_since(self.epoch, entry.expires_at);
        let now = self.now();
        let r = self.ring_of(&key);
        {
            let mut ring = self.lock(r);
            self.pop_expired(r, &mut ring, now, HOUSEKEEPING_PER_INSERT);
            while ring.slots.len() >= self.ring_bound {
                if self.pop_front(r, &mut ring, Pop::Always) {
                    self.live.fetch_sub(1, Ordering::Relaxed);
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                }
            }
            let seq = ring.front_seq.wrapping_add(ring.slots.len() as u32);
            ring.slots
                .push_back(Slot::new(key, client_kind, client, expires, &entry));
            self.live.fetch_add(1, Ordering::Relaxed);
            if ring.slots.len() == 1 {
                self.settle(r, &mut ring);
            }
            if let Some(displaced) = self.index.insert(index_key(&key), seq) {
                self.evict_displaced(r, &mut ring, displaced);
            }
        }
        // After the push, so that whoever is over the cap has a state to
        // evict; a new login is never refused for lack of room.
        self.make_room();
        Ok(())
    }

    async fn outstanding(&self) -> Result<u64, StoreError> {
        Ok(MemoryStateStore::outstanding(self) as u64)
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        let Some(key) = key_of(state) else {
            return Ok(None);
        };
        let r = self.ring_of(&key);
        let mut ring = self.lock(r);
        let RingSlots { slots, front_seq } = &mut *ring;
        let holds = |seq: u32| {
            slots
                .get(seq.wrapping_sub(*front_seq) as usize)
                .is_some_and(|slot| slot.live && slot.key == key)
        };
        let Some((_, seq)) = self.index.remove_if(&index_key(&key), |_, &seq| holds(seq)) else {
            return Ok(None);
        };
        let at = seq.wrapping_sub(*front_seq) as usize;
        let Some(slot) = slots.get_mut(at) else {
            return Ok(None);
        };
        slot.live = false;
        let (taken, kind, client) = (slot.entry(self.epoch), slot.client_kind, slot.client);
        if at == 0 {
            self.settle(r, &mut ring);
        }
        drop(ring);
        self.live.fetch_sub(1, Ordering::Relaxed);
        self.release(kind, client);
        Ok(Some(taken))
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

    /// The store's parts agree: `live`, the rings' live slots and the index
    /// count the same states; every ring's front is live and published; the
    /// counts add up to the live states of each kind of client.
    fn assert_consistent(store: &MemoryStateStore) {
        let mut live = 0;
        let mut per_level = [0u64; LEVELS];
        for r in 0..store.rings.len() {
            let ring = store.lock(r);
            let front = ring.slots.front();
            assert!(front.is_none_or(|front| front.live), "ring {r}'s front");
            let published = store.fronts[r].load(Ordering::Relaxed);
            assert_eq!(published, front.map_or(EMPTY, |front| front.expires));
            for slot in ring.slots.iter().filter(|slot| slot.live) {
                live += 1;
                for (level, _) in counters(slot.client_kind, slot.client)
                    .into_iter()
                    .flatten()
                {
                    per_level[level] += 1;
                }
            }
        }
        assert_eq!(store.len(), live);
        assert_eq!(store.index.len(), live);
        for (level, count) in store.counts.iter().enumerate() {
            let counted: u64 = count.iter().map(|held| u64::from(*held.value())).sum();
            assert_eq!(counted, per_level[level], "level {level}");
        }
    }

    /// Eight rings whatever the machine, and shares that never refuse.
    fn on_rings(cap: usize) -> Arc<MemoryStateStore> {
        let shares = StateShares {
            per_client: cap * 10,
            per_56: cap * 10,
            per_48: cap * 10,
        };
        MemoryStateStore::with_rings(cap, shares, 8)
    }

    #[tokio::test]
    async fn eviction_across_rings_takes_the_oldest_first() {
        let store = on_rings(10);
        let mut states = Vec::new();
        for _ in 0..30 {
            states.push(issue(&*store, Flow::AcApp, None, TTL).await.unwrap());
            assert!(store.len() <= 10);
        }
        assert_eq!(store.evicted(), 20);
        assert_consistent(&store);
        for (i, state) in states.iter().enumerate() {
            let r = consume(&*store, Some(state), Flow::AcApp, None).await;
            let expected = if i < 20 {
                Err(StateRejection::Unknown)
            } else {
                Ok(())
            };
            assert_eq!(r, Ok(expected), "state {i}");
        }
        assert!(store.is_empty());
        assert_consistent(&store);
    }

    #[tokio::test]
    async fn states_sharing_their_index_bits_are_told_apart() {
        let store = on_rings(10);
        let entry = || StateEntry {
            flow: Flow::Web,
            browser: None,
            expires_at: Instant::now() + TTL,
            client: Some(ip("192.0.2.1")),
        };
        let (older, newer) = (
            "1111111111111111abcdefabcdef0123",
            "2222222222222222abcdefabcdef0123",
        );
        store.insert(older.into(), entry()).await.unwrap();
        store.insert(newer.into(), entry()).await.unwrap();
        // The older one went as if evicted, and gave back its count.
        assert_eq!((store.len(), store.evicted()), (1, 1));
        assert_consistent(&store);
        assert!(store.take(older).await.unwrap().is_none());
        // The same 64 index bits with other high bits is unknown, and
        // spends nothing.
        let forged = "3333333333333333abcdefabcdef0123";
        assert!(store.take(forged).await.unwrap().is_none());
        assert!(store.take(newer).await.unwrap().is_some());
        assert!(store.take(newer).await.unwrap().is_none());
        assert!(store.is_empty());
        assert_consistent(&store);
    }

    /// Eight threads issue (some from IPv4, some from IPv6 /64s of one /48)
    /// into a store too small for them, and consume some states as they go.
    #[test]
    fn threads_at_once_keep_the_cap_and_the_counts_exact() {
        const THREADS: usize = 8;
        const EACH: usize = 2_000;
        const CAP: usize = 1_000;
        let store = on_rings(CAP);
        let outcomes: Vec<(Vec<String>, usize)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let store = &store;
                    scope.spawn(move || {
                        futures::executor::block_on(async move {
                            let (mut kept, mut consumed) = (Vec::new(), 0);
                            for i in 0..EACH {
                                let client = if t % 2 == 0 {
                                    IpAddr::from([192, 0, 2, (i % 7) as u8])
                                } else {
                                    ip(&format!("2001:db8:1:{:x}::1", i % 5))
                                };
                                let state =
                                    issue_for(&**store, Flow::AcApp, None, Some(client), TTL)
                                        .await
                                        .expect("a full store evicts, it never refuses");
                                if i % 3 == 0 {
                                    let r =
                                        consume(&**store, Some(&state), Flow::AcApp, None).await;
                                    // Another thread may have evicted it already.
                                    assert!(matches!(r, Ok(Ok(()) | Err(StateRejection::Unknown))));
                                    consumed += usize::from(r == Ok(Ok(())));
                                } else {
                                    kept.push(state);
                                }
                            }
                            (kept, consumed)
                        })
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(store.len(), CAP, "full, and not past the cap");
        assert_consistent(&store);
        let consumed: usize = outcomes.iter().map(|(_, consumed)| consumed).sum();
        // Every state issued was consumed, evicted, or is still held.
        assert_eq!(
            consumed + store.evicted() as usize + CAP,
            THREADS * EACH,
            "consumed {consumed}, evicted {}",
            store.evicted()
        );
        let held = outcomes
            .iter()
            .flat_map(|(kept, _)| kept)
            .filter(|state| {
                let r = futures::executor::block_on(consume(
                    &*store,
                    Some(state.as_str()),
                    Flow::AcApp,
                    None,
                ));
                r == Ok(Ok(()))
            })
            .count();
        assert_eq!(held, CAP);
        assert!(store.is_empty());
        assert_consistent(&store);
        assert!(store.counts.iter().all(|count| count.is_empty()));
    }

    #[test]
    fn threads_at_once_never_pass_a_share() {
        let shares = StateShares {
            per_client: 40,
            per_56: 60,
            per_48: 70,
        };
        let store = MemoryStateStore::with_rings(100_000, shares, 8);
        // Eight threads from two /64s of one /56, and from another /56 of
        // the same /48.
        let admitted: Vec<Vec<String>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|t| {
                    let store = &store;
                    let client =
                        ip(["2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:1:100::1"][t % 3]);
                    scope.spawn(move || {
                        (0..100)
                            .filter_map(|_| {
                                let issued =
                                    issue_for(&**store, Flow::Web, None, Some(client), TTL);
                                futures::executor::block_on(issued).ok()
                            })
                            .collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        // The /56 of the first two /64s holds 60 of the /48's 70; the other
        // /56 gets what is left, at most its /64's 40.
        let held: usize = admitted.iter().map(Vec::len).sum();
        assert_eq!(held, 70, "the /48's share, exactly");
        assert_consistent(&store);
        let first_56: usize = [0, 1, 3, 4, 6, 7].iter().map(|&t| admitted[t].len()).sum();
        assert!(first_56 <= 60, "{first_56} in one /56");
        assert!(held - first_56 <= 40, "{} in one /64", held - first_56);
    }
}
