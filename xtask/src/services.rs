//! Redis and PostgreSQL for the backend's tests: Debian's `redis-server`
//! and `postgresql`, installed once per machine. The tests start their own
//! servers on loopback in temporary directories; nothing is run as a
//! system service. `cargo xtask run` needs neither.

use std::path::Path;
use std::process::Command;

use crate::{cargo, sh, step, Result};

/// The store configurations the integration suites run against, besides
/// the embedded default (see `backend/tests/support`).
const STORE_KINDS: &[&str] = &["redis", "redis+postgres", "postgres"];
/// The topics of `backend/tests/api/` that drive the app through its API,
/// so they hold for any store (faults' kill -9 test runs the binary on
/// SQLite whatever the setting; shutdown does too; instances, outages and
/// the other store topics start Redis and PostgreSQL themselves).
const TOPICS: &[&str] = &["login::", "session::", "hardening::", "faults::", "game::"];

fn postgres_present() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin/postgres").exists())
        })
        .unwrap_or(false)
}

pub fn ensure_stores() -> Result {
    if Path::new("/usr/bin/redis-server").exists() && postgres_present() {
        return Ok(());
    }
    step("installing Debian's redis-server and postgresql (once per machine; for the tests)");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    sh(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "redis-server", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    sh(install).map_err(|e| {
        format!("{e}; the backend's tests need redis-server and postgresql (apt-get, as root)")
    })
}

/// The API suites again, once per shared-store configuration.
pub fn test_each_store_kind() -> Result {
    for kind in STORE_KINDS {
        step(&format!("backend suites with ACAPP_TEST_STORES={kind}"));
        let mut args = vec!["test", "--package", "backend", "--test", "api", "--"];
        args.extend(TOPICS);
        let mut topics = cargo(&args);
        topics.env("ACAPP_TEST_STORES", kind);
        sh(topics)?;
        // A binary of its own: it saturates the machine on purpose.
        let mut flood = cargo(&["test", "--package", "backend", "--test", "refresh_flood"]);
        flood.env("ACAPP_TEST_STORES", kind);
        sh(flood)?;
    }
    Ok(())
}
