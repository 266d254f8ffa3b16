//! Connections to the stores that outlive a request: SQLite, PostgreSQL and
//! Redis, and waiting for them at start.

pub mod redis_pool;
pub mod sqlite;
