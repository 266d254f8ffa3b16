//! Prometheus metrics, served at `GET /metrics` in the text format.
//!
//! The counters and histograms are process-wide (one server per process
//! in production; tests compare before and after). The number of states
//! outstanding is read from the state store at each scrape, so with Redis
//! every instance reports the shared total. The labelled series that
//! matter are created at zero when the server starts (see `precreate`),
//! so a fresh instance already shows every family.

use std::sync::OnceLock;
use std::time::Duration;

use acwing_oauth::{Endpoint, Errcode};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use shared::ErrorCode;

pub struct Metrics {
    registry: Registry,
    logins: IntCounterVec,
    upstream: HistogramVec,
    acwing_errors: IntCounterVec,
    batch_writes: Histogram,
    batch_time: HistogramVec,
}

/// AcWing answers in tens to hundreds of ms; the timeout is 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let registry = Registry::new();
        let logins = IntCounterVec::new(
            Opts::new(
                "acapp_logins_total",
                "Completed receive_code calls, by flow and result (success or the error code)",
            ),
            &["flow", "result"],
        )
        .expect("valid metric");
        let upstream = HistogramVec::new(
            HistogramOpts::new(
                "acapp_upstream_latency_seconds",
                "Time of each call to AcWing (the upstream), by endpoint and outcome",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["endpoint", "outcome"],
        )
        .expect("valid metric");
        let acwing_errors = IntCounterVec::new(
            Opts::new(
                "acapp_acwing_errors_total",
                "AcWing errcodes, from its API or in a callback",
            ),
            &["errcode"],
        )
        .expect("valid metric");
        let batch_writes = Histogram::with_opts(
            HistogramOpts::new(
                "acapp_sqlite_batch_writes",
                "Writes committed together by SQLite's writer thread, per batch",
            )
            .buckets(BATCH_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let batch_time = HistogramVec::new(
            HistogramOpts::new(
                "acapp_sqlite_batch_seconds",
                "Time of each batch of SQLite's writer thread, by phase: its writes' statements, or its COMMIT",
            )
            .buckets(BATCH_TIME_BUCKETS.to_vec()),
            &["phase"],
        )
        .expect("valid metric");
        for phase in BATCH_PHASES {
            batch_time.with_label_values(&[phase]);
        }
        for collector in [
            Box::new(logins.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(upstream.clone()),
            Box::new(acwing_errors.clone()),
            Box::new(batch_writes.clone()),
            Box::new(batch_time.clone()),
        ] {
            registry.register(collector).expect("registered once");
        }
        precreate(&logins, &upstream, &acwing_errors);
        Metrics {
            registry,
            logins,
            upstream,
            acwing_errors,
            batch_writes,
            batch_time,
        }
    })
}

/// The writer commits at most 128 writes at once.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
/// A batch takes tens of µs to ms; a checkpoint's fsync in its commit, or
/// a lock held by another process, far longer.
const BATCH_TIME_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 5.0,
];
/// `acapp_sqlite_batch_seconds`'s phases.
const BATCH_PHASES: [&str; 2] = ["statements", "commit"];

/// The flows a login finishes in (`acapp_logins_total`'s `flow`).
pub const FLOWS: [&str; 2] = ["web", "acapp"];
/// AcWing's endpoints we call, as the histogram names them.
pub const UPSTREAM_ENDPOINTS: [&str; 2] =
    [Endpoint::AccessToken.label(), Endpoint::GetInfo.label()];
/// The errcodes the seeds name (`acwing_oauth::Errcode`'s). Any other errcode is counted
/// as `other`: whoever calls redirect_uri chooses it, and one series per
/// distinct value would let them grow `/metrics` without bound.
pub const KNOWN_ERRCODES: [&str; 3] = [
    Errcode::USER_REJECT,
    Errcode::CODE_EXPIRED,
    Errcode::ACCESS_TOKEN_EXPIRED,
];
const OTHER_ERRCODE: &str = "other";

/// Prometheus omits a labelled family until one of its series exists, so a
/// fresh instance would show none of them. Every series a dashboard or an
/// alert is likely to name starts at zero: each flow with `success` and
/// every error code, each AcWing endpoint with `ok`, each known errcode.
fn precreate(logins: &IntCounterVec, upstream: &HistogramVec, acwing_errors: &IntCounterVec) {
    for flow in FLOWS {
        logins.with_label_values(&[flow, "success"]);
        for code in ErrorCode::ALL {
            logins.with_label_values(&[flow, code.as_str()]);
        }
    }
    for endpoint in UPSTREAM_ENDPOINTS {
        upstream.with_label_values(&[endpoint, "ok"]);
    }
    for errcode in KNOWN_ERRCODES.into_iter().chain([OTHER_ERRCODE]) {
        acwing_errors.with_label_values(&[errcode]);
    }
}

/// Creates the series at zero now (at start), rather than at the first
/// scrape or event.
pub fn init() {
    metrics();
}

/// A finished receive_code: `result` is `success` or an error code.
pub fn login(flow: &str, result: &str) {
    metrics().logins.with_label_values(&[flow, result]).inc();
}

/// A call to AcWing's `endpoint`, `ok` or an error kind.
pub fn upstream(endpoint: &str, outcome: &str, took: Duration) {
    metrics()
        .upstream
        .with_label_values(&[endpoint, outcome])
        .observe(took.as_secs_f64());
}

/// An AcWing errcode: one of the known ones, or `other`.
pub fn acwing_error(errcode: &str) {
    let label = KNOWN_ERRCODES
        .into_iter()
        .find(|known| *known == errcode)
        .unwrap_or(OTHER_ERRCODE);
    metrics().acwing_errors.with_label_values(&[label]).inc();
}

/// A batch the SQLite writer committed: how many writes, how long their
/// statements took, and how long its COMMIT did.
pub fn sqlite_batch(writes: usize, statements: Duration, commit: Duration) {
    let metrics = metrics();
    metrics.batch_writes.observe(writes as f64);
    let [statements_phase, commit_phase] = BATCH_PHASES;
    for (phase, took) in [(statements_phase, statements), (commit_phase, commit)] {
        metrics
            .batch_time
            .with_label_values(&[phase])
            .observe(took.as_secs_f64());
    }
}

/// Everything, in Prometheus's text format; `states` is the number of
/// login states outstanding, when the store could say.
pub fn render(states: Option<u64>) -> String {
    let mut families = metrics().registry.gather();
    if let Some(states) = states {
        let gauge = IntGauge::new(
            "acapp_login_states_outstanding",
            "Login states issued and neither used nor expired",
        )
        .expect("valid metric");
        gauge.set(i64::try_from(states).unwrap_or(i64::MAX));
        families.extend(prometheus::core::Collector::collect(&gauge));
    }
    let mut out = Vec::new();
    // Encoding into a Vec fails only on invalid metric families.
    let _ = TextEncoder::new().encode(&families, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_errcode_nobody_documents_is_counted_as_other() {
        let other = |text: &str| {
            text.lines()
                .find(|l| l.starts_with(r#"acapp_acwing_errors_total{errcode="other"}"#))
                .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let before = other(&render(None));
        for errcode in ["123456789", "-7", "000040010"] {
            acwing_error(errcode);
        }
        let text = render(None);
        assert_eq!(other(&text), before + 3, "{text}");
        assert!(!text.contains("123456789") && !text.contains("000040010"));
    }
}
