//! Time to issue and to consume one login state, in process.

use std::time::Duration;

use backend::login::state::{consume, issue, Flow, MemoryStateStore};
use criterion::{criterion_group, criterion_main, Criterion};

const TTL: Duration = Duration::from_secs(600);

fn state_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let store = MemoryStateStore::new(10_000_000);
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

criterion_group!(benches, state_store);
criterion_main!(benches);
