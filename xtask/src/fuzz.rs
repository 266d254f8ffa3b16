//! The fuzz smoke run in `cargo xtask test`: every cargo-fuzz target in
//! `fuzz/` for a few seconds. cargo-fuzz needs a nightly toolchain and the
//! `cargo-fuzz` binary; both are set up here when missing (a dated nightly,
//! `NIGHTLY`, with rustup; cargo-fuzz at a pinned version into the per-user
//! tool cache).
//! Longer runs: see docs/security.md, "Fuzzing".

use std::path::PathBuf;
use std::process::Command;

use crate::{root, sh, step, Result};

pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// A dated nightly, close to the stable release rust-toolchain.toml pins
/// (1.95.0, 2026-04-14), so that a fuzz run is the same on every machine.
pub const NIGHTLY: &str = "nightly-2026-04-10";
pub const TARGETS: [&str; 3] = ["callback_query", "acwing_response", "forwarded_for"];
const SECONDS_EACH: u32 = 10;

/// `~/.cache/acwing-acapp/tools`, as in tools.rs.
fn tool_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("acwing-acapp").join("tools")
}

fn ensure_nightly() -> Result {
    let list = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l.starts_with(&format!("{NIGHTLY}-")) || l == NIGHTLY)
    {
        return Ok(());
    }
    step(&format!(
        "installing {NIGHTLY} (cargo-fuzz needs a nightly toolchain)"
    ));
    let mut install = Command::new("rustup");
    install.args(["toolchain", "install", NIGHTLY, "--profile", "minimal"]);
    sh(install)
}

/// The directory holding `cargo-fuzz`, installed once per user.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let root = tool_cache().join(format!("cargo-fuzz-{CARGO_FUZZ_VERSION}"));
    let bin = root.join("bin");
    if bin.join("cargo-fuzz").exists() {
        return Ok(bin);
    }
    step(&format!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} into {} (once per user; takes minutes)",
        root.display()
    ));
    let mut install = Command::new("cargo");
    install
        .args(["install", "cargo-fuzz", "--locked", "--version"])
        .arg(CARGO_FUZZ_VERSION)
        .arg("--root")
        .arg(&root)
        .env_remove("CARGO_TARGET_DIR");
    sh(install)?;
    Ok(bin)
}

/// Runs each target for `SECONDS_EACH` seconds from the committed seeds; a
/// crash, panic or failed assertion fails the run (the input is saved
/// under `fuzz/artifacts/<target>/`).
pub fn smoke() -> Result {
    ensure_nightly()?;
    let bin = ensure_cargo_fuzz()?;
    let mut path = vec![bin];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(path).map_err(|e| e.to_string())?;
    for target in TARGETS {
        step(&format!(
            "fuzzing {target} for {SECONDS_EACH} s ({NIGHTLY}, cargo-fuzz)"
        ));
        let corpus = root().join("fuzz").join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
        let mut run = Command::new("rustup");
        run.args(["run", NIGHTLY, "cargo", "fuzz", "run", "--fuzz-dir", "fuzz"])
            // No sanitizer: the targets are safe Rust; debug assertions catch
            // overflows. An unoptimised build in a per-user folder outside the
            // clone: a smoke run needs no speed, and a fresh clone (CI) then
            // rebuilds nothing it built before.
            .args(["--sanitizer", "none", "--debug-assertions", "--dev"])
            .arg("--target-dir")
            .arg(crate::tools::cache_dir().join("fuzz-target"))
            .arg(target)
            .arg(&corpus)
            .arg(root().join("fuzz").join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={SECONDS_EACH}"))
            .arg("-rss_limit_mb=2048")
            .env("PATH", &path)
            // Incremental state would double the folder for no gain: the
            // targets are rebuilt only when the backend changes.
            .env("CARGO_INCREMENTAL", "0")
            // Set by the outer `cargo run`; they point at the stable cargo.
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTC")
            .env_remove("CARGO_TARGET_DIR");
        sh(run)?;
    }
    Ok(())
}
