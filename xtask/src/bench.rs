//! `cargo xtask bench [--quick]`: the release server and the simulator in
//! their own processes, driven by the Rust load generator in `bench/`.
//!
//! Like `cargo xtask test`, it first builds the frontend bundle (so that the
//! sizes and browser timings are of the current source, not a stale or
//! missing `dist/`) and makes sure Chromium and ChromeDriver are there (so
//! that the browser timings are measured, not skipped).

use crate::dist::{dist, dist_without_game};
use crate::{cargo, root, sh, step, tools, Result};

pub fn bench(quick: bool) -> Result {
    let browser = tools::ensure_chromium()?;
    // Before the full bundle, so the wasm build's artifacts end as dist/'s.
    let without_game = dist_without_game()?;
    let acapp = dist()?;
    let dist_dir = acapp
        .parent()
        .ok_or("the bundle's folder has no parent")?
        .to_owned();
    step("building the server, the simulator and the load generator (release)");
    sh(cargo(&[
        "build",
        "--release",
        "--package",
        "backend",
        "--package",
        "acwing-sim",
        "--package",
        "bench",
    ]))?;
    step("criterion: issuing and consuming a state");
    let mut criterion = cargo(&[
        "bench",
        "--package",
        "backend",
        "--bench",
        "state_store",
        "--",
    ]);
    if quick {
        criterion.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    sh(criterion)?;
    step(
        "full logins, apply_code cost, state memory, bundle sizes, browser timings (loopback only)",
    );
    let release = root().join("target/release");
    let mut run = std::process::Command::new(release.join("bench"));
    run.arg("--backend")
        .arg(release.join("acapp-server"))
        .arg("--sim")
        .arg(release.join("acwing-sim"))
        .arg("--dist")
        .arg(dist_dir)
        .arg("--dist-without-game")
        .arg(without_game)
        .arg("--out")
        .arg(root().join("target/bench"))
        .arg("--criterion")
        .arg(root().join("target/criterion"))
        .env("CHROME_BIN", &browser.chrome)
        .env("CHROMEDRIVER", &browser.driver);
    if quick {
        run.arg("--quick");
    }
    sh(run)
}
