//! `cargo xtask bench [--quick]`: the release server and the simulator in
//! their own processes, driven by the Rust load generator in `bench/`.

use crate::{cargo, root, sh, step, Result};

pub fn bench(quick: bool) -> Result {
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
        "bench",
        "--bench",
        "state_store",
        "--",
    ]);
    if quick {
        criterion.args(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    sh(criterion)?;
    step("full logins, apply_code cost, state memory, bundle sizes (loopback only)");
    let release = root().join("target/release");
    let mut run = std::process::Command::new(release.join("bench"));
    run.arg("--backend")
        .arg(release.join("acapp-server"))
        .arg("--sim")
        .arg(release.join("acwing-sim"))
        .arg("--dist")
        .arg(root().join("dist"))
        .arg("--out")
        .arg(root().join("target/bench"))
        .arg("--criterion")
        .arg(root().join("target/criterion"));
    if quick {
        run.arg("--quick");
    }
    sh(run)
}
