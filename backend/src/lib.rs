//! The AcApp's server. ARCHITECTURE.md at the repository's root maps its
//! modules; each folder here is one concern.

pub mod client_ip;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod game;
pub mod http;
pub mod login;
pub mod metrics;
pub mod players;
pub mod rate;
pub mod secret;
pub mod sessions;
pub mod startup;
pub mod store;
pub mod telemetry;
