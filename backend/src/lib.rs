//! The AcApp's server. See ARCHITECTURE.md for the map of modules.

pub mod acwing;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod connections;
pub mod database;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod hardening;
pub mod login;
pub mod metrics;
pub mod origin;
pub mod players;
pub mod rate_limit;
pub mod redis_pool;
pub mod request_log;
pub mod routes;
pub mod secret;
pub mod session_redis;
pub mod sessions;
pub mod startup;
pub mod state_store;
pub mod telemetry;
