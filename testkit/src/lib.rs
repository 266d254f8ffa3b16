//! What the backend's integration tests, the browser tests (`e2e/`) and the
//! load generator (`bench/`) each need around the code they exercise, kept
//! in one place: free ports on loopback ([`ports`]), real Redis and
//! PostgreSQL servers in temporary directories ([`services`]), the
//! `acapp-server` and simulator binaries as processes of their own
//! ([`process`]), an in-process simulator with extra players
//! ([`simulator`]), the server's `Settings` for a test ([`settings`]),
//! and, with the `chromium` feature, headless Chromium through
//! chromedriver ([`chromium`]). It is a dev-only crate: nothing in
//! the server depends on it, and it holds no server code of its own.

#[cfg(feature = "chromium")]
pub mod chromium;
mod names;
pub mod ports;
pub mod process;
pub mod services;
pub mod settings;
pub mod simulator;
