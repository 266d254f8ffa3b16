//! The log filter the server runs with, shared with the tests so that they
//! exercise it rather than one of their own.

use tracing_subscriber::EnvFilter;

/// `requested` (RUST_LOG, or `info`) may raise verbosity, but never for the
/// HTTP client stack, whose debug output could carry AcWing URLs with the
/// secret or a code in them.
pub fn log_filter(requested: Option<&str>) -> EnvFilter {
    let filter = requested
        .and_then(|r| EnvFilter::try_new(r).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    [
        "reqwest=info",
        "hyper=info",
        "hyper_util=info",
        "rustls=info",
        "h2=info",
    ]
    .into_iter()
    .filter_map(|d| d.parse().ok())
    .fold(filter, |f, directive| f.add_directive(directive))
}
