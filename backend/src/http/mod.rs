//! The HTTP edge: the listener, the headers and limits every request meets,
//! who the client is, and the thin handlers in `routes/`.

pub mod body;
pub mod connections;
pub mod current_player;
pub mod error;
pub mod hardening;
pub mod origin;
pub mod rate_limit;
pub mod request_log;
pub mod routes;
