//! The backend's integration tests: the real server and the AcWing
//! simulator on loopback, driven over real HTTP, one module per topic.
//! `support` spawns them; `testkit` (a crate of its own) holds what the
//! browser tests and the benchmark share with these.
//!
//! Two suites are binaries of their own: `state_memory.rs` counts every
//! allocation of its process, and `refresh_flood.rs` saturates the machine
//! on purpose.

mod support;

mod faults;
mod game;
mod hardening;
mod instances;
mod ipv6_networks;
mod login;
mod metrics;
mod outages;
mod redis_pool;
mod redis_store;
mod session;
mod shutdown;
mod slow_clients;
mod waiting_at_start;
