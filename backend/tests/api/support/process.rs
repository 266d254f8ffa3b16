//! The real `acapp-server` binary in a process of its own (testkit's
//! `ServerProcess`), for what only a process shows: SIGKILL, SIGTERM, a
//! restart on the same database. What is particular to these tests is
//! here: the binary cargo built for them, the appid, a quiet log.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use acwing_sim::Simulator;
use testkit::process::AcwingApp;

use super::APPID;

/// How long a test waits for a spawned server to answer `/healthz`.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

/// A simulator that knows the demo users and `count` more, whose openids
/// are `openid-{prefix}{i}` and usernames `{prefix}{i}`.
pub fn simulator_with_players(secret: &str, prefix: &str, count: usize) -> Simulator {
    testkit::simulator::with_players(APPID, secret, prefix, count)
}

/// The server binary, configured for `acwing` and a SQLite file `db`, and
/// quiet; the caller adds what its test needs and spawns it.
pub fn server_command(port: u16, db: &Path, acwing: &Simulator, secret: &str) -> Command {
    let mut command = testkit::process::server_command(
        Path::new(env!("CARGO_BIN_EXE_acapp-server")),
        port,
        db,
        &AcwingApp {
            appid: APPID,
            secret,
            base_url: &acwing.base_url(),
        },
    );
    command.env("RUST_LOG", "error");
    command
}
