//! `Settings` for a server under test, in one place: a test names what it
//! is about and takes the rest from here, so that a new setting is added
//! once, not in every suite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use backend::config::{AcwingSettings, Settings};
use url::Url;

/// A server on `bind` (loopback; see [`crate::ports::free_port`]) whose
/// public URL is that address, talking to `acwing`, keeping its data at
/// `database_url`, with no Redis, no built frontend and every limit at the
/// binary's default. Override fields with struct update syntax.
pub fn for_tests(acwing: AcwingSettings, bind: SocketAddr, database_url: String) -> Settings {
    Settings {
        acwing,
        acwing_timeout: Duration::from_secs(5),
        bind,
        public_url: Url::parse(&format!("http://{bind}")).expect("an address makes a URL"),
        database_url,
        redis_url: None,
        redis_prefix: "acapp:".into(),
        shutdown_timeout: Duration::from_secs(5),
        allowed_origins: vec!["https://www.acwing.com".into()],
        state_ttl: Duration::from_secs(120),
        access_ttl: Duration::from_secs(900),
        static_dir: no_frontend(),
        limits: Default::default(),
        metrics: Default::default(),
    }
}

/// A folder with no built frontend in it: the server falls back to its own
/// placeholder page.
fn no_frontend() -> PathBuf {
    std::env::temp_dir().join("acapp-no-dist")
}

/// A fresh SQLite file in the temporary folder, as a database URL.
pub fn fresh_sqlite(prefix: &str) -> String {
    let file = std::env::temp_dir().join(format!("{prefix}-{}.db", crate::names::unique()));
    format!("sqlite://{}", file.display())
}
