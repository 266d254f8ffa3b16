//! The HTTP contract between the backend and the frontend.
//!
//! Both halves depend on this crate, so a path, a field or an error code can
//! only change in one place. It does no I/O and compiles for wasm32.

pub mod api;
pub mod error;

pub use error::ErrorCode;
