//! Time to issue and to consume one login state, in process.
//!
//! `state_store/issue` and `state_store/consume`: one thread, this store
//! (bench/src/main.rs reads them). `state_store_threads/{op}_{store}/{n}`:
//! `n` threads at once, each with its own clients, against this store
//! (`sharded`) and the single-lock one it replaced (`single_lock`); the
//! time is per operation of all threads together (the wall time over all
//! their operations), so a store that scales shows less time with more
//! threads, down to the time of one thread divided by the cores.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use backend::login::state::{
    consume, issue, issue_for, Flow, MemoryStateStore, SingleLockStateStore, StateStore,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const TTL: Duration = Duration::from_secs(600);
/// Big enough that no run fills it: what is measured is issuing and
/// consuming, not eviction.
const CAP: usize = 10_000_000;

fn state_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let store = MemoryStateStore::new(CAP);
    let nonce = backend::secret::random_hex(16);
    let mut group = c.benchmark_group("state_store");
    group.bench_function("issue", |b| {
        b.iter(|| {
            runtime
                .block_on(issue(&*store, Flow::Web, Some(nonce.clone()), TTL))
                .expect("below the cap")
        })
    });
    group.bench_function("consume", |b| {
        b.iter_batched(
            || {
                runtime
                    .block_on(issue(&*store, Flow::Web, Some(nonce.clone()), TTL))
                    .expect("below the cap")
            },
            |state| {
                runtime
                    .block_on(consume(&*store, Some(&state), Flow::Web, Some(&nonce)))
                    .expect("no store error")
                    .expect("a valid state")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

#[derive(Clone, Copy)]
enum Op {
    Issue,
    Consume,
}

/// The store under test, and the one it replaced.
#[derive(Clone, Copy)]
enum Store {
    Sharded,
    SingleLock,
}

impl Store {
    fn build(self) -> Arc<dyn StateStore> {
        match self {
            Store::Sharded => MemoryStateStore::new(CAP),
            Store::SingleLock => SingleLockStateStore::new(CAP),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Store::Sharded => "sharded",
            Store::SingleLock => "single_lock",
        }
    }
}

/// One worker's states: issued from 256 addresses of its own /24 (so the
/// per-client counts are touched, as apply_code touches them), with a
/// browser nonce (as the web flow does).
struct Worker {
    runtime: tokio::runtime::Runtime,
    nonce: String,
    net: u8,
}

impl Worker {
    fn new(net: u8) -> Worker {
        Worker {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime"),
            nonce: backend::secret::random_hex(16),
            net,
        }
    }

    fn issue(&self, store: &dyn StateStore, i: usize) -> String {
        let client = IpAddr::V4(Ipv4Addr::new(10, self.net, 0, i as u8));
        let issued = issue_for(
            store,
            Flow::Web,
            Some(self.nonce.clone()),
            Some(client),
            TTL,
        );
        self.runtime.block_on(issued).expect("below the cap")
    }

    fn consume(&self, store: &dyn StateStore, state: &str) {
        let consumed = consume(store, Some(state), Flow::Web, Some(&self.nonce));
        self.runtime
            .block_on(consumed)
            .expect("no store error")
            .expect("a valid state")
    }
}

/// `iters` operations over `threads` threads released together; the wall
/// time from their start to the last one's end. States issued are consumed
/// afterwards (untimed), and states to consume are issued beforehand, so
/// every sample starts from an empty store.
fn run(store: &Arc<dyn StateStore>, op: Op, threads: usize, iters: u64) -> Duration {
    let start = Barrier::new(threads + 1);
    let end = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let n = (iters as usize / threads) + usize::from(t < iters as usize % threads);
            let (store, start, end) = (&**store, &start, &end);
            scope.spawn(move || {
                let worker = Worker::new(t as u8);
                let mut states: Vec<String> = match op {
                    Op::Issue => Vec::with_capacity(n),
                    Op::Consume => (0..n).map(|i| worker.issue(store, i)).collect(),
                };
                start.wait();
                match op {
                    Op::Issue => states.extend((0..n).map(|i| worker.issue(store, i))),
                    Op::Consume => states.iter().for_each(|s| worker.consume(store, s)),
                }
                end.wait();
                if let Op::Issue = op {
                    states.iter().for_each(|s| worker.consume(store, s));
                }
            });
        }
        start.wait();
        let started = Instant::now();
        end.wait();
        started.elapsed()
    })
}

fn state_store_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_store_threads");
    for (op, name) in [(Op::Issue, "issue"), (Op::Consume, "consume")] {
        for kind in [Store::Sharded, Store::SingleLock] {
            for threads in [1, 2, 4, 8] {
                let store = kind.build();
                let id = BenchmarkId::new(format!("{name}_{}", kind.name()), threads);
                group.bench_function(id, |b| {
                    b.iter_custom(|iters| run(&store, op, threads, iters))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, state_store, state_store_threads);
criterion_main!(benches);
