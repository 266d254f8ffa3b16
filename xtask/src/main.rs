//! `cargo xtask run | test | dist`: everything a person or CI types.

mod bench;
mod fuzz;
mod services;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <run|test|dist>
  run   set up what is missing, build the frontend, start the app in demo mode
  test  fmt, clippy (-D warnings) and every test
  dist  build the frontend bundle into dist/ and print its sizes
  serve the frontend dev loop: the backend in demo mode behind `trunk serve` (hot reload)
  bench [--quick]  build in release mode and benchmark; writes target/bench/report.md";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let outcome = match task.as_deref() {
        Some("run") => run(),
        Some("test") => test(),
        Some("dist") => dist().map(|_| ()),
        Some("serve") => serve(),
        Some("bench") => bench::bench(std::env::args().any(|a| a == "--quick")),
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}

fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs `cmd` from the workspace root, failing on a non-zero exit.
fn sh(mut cmd: Command) -> Result {
    cmd.current_dir(root());
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args);
    cmd
}

fn run() -> Result {
    dist()?;
    step("starting the server in demo mode (release build: the first one takes a few minutes)");
    sh(cargo(&[
        "run",
        "--release",
        "--package",
        "backend",
        "--bin",
        "acapp-server",
        "--",
        "--demo",
    ]))
}

/// The frontend dev loop: trunk serves the app with hot reload on :8080 and
/// proxies the API to the backend, which believes it lives on :8080 so that
/// both redirect_uris come back through trunk.
fn serve() -> Result {
    let tools = tools::ensure_all()?;
    let trunk = tools::ensure_trunk()?;
    step("starting the backend (demo mode) for trunk on http://127.0.0.1:8080");
    let mut backend = cargo(&[
        "run",
        "--package",
        "backend",
        "--bin",
        "acapp-server",
        "--",
        "--demo",
    ]);
    backend
        .current_dir(root())
        .env("ACAPP_PUBLIC_URL", "http://127.0.0.1:8080");
    let mut backend = backend
        .spawn()
        .map_err(|e| format!("cannot start the backend: {e}"))?;
    step("trunk serve: http://127.0.0.1:8080/ (AcApp window: http://127.0.0.1:8001/acapp/)");
    let mut path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
    for tool in [&tools.wasm_opt, &tools.wasm_bindgen] {
        if let Some(dir) = tool.parent() {
            path.insert(0, dir.to_owned());
        }
    }
    let mut serve = Command::new(trunk);
    serve
        .arg("serve")
        .env(
            "PATH",
            std::env::join_paths(path).map_err(|e| e.to_string())?,
        )
        .env("CARGO_TARGET_DIR", root().join("target").join("trunk"));
    let outcome = sh(serve);
    let _ = backend.kill();
    outcome
}

fn test() -> Result {
    step("rustfmt");
    sh(cargo(&["fmt", "--all", "--check"]))?;
    step("clippy (native crates)");
    sh(cargo(&[
        "clippy",
        "--workspace",
        "--exclude",
        "frontend",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::ensure_wasm_target()?;
    step("clippy (frontend, wasm32)");
    let mut clippy = cargo(&[
        "clippy",
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]);
    clippy.env("CARGO_TARGET_DIR", wasm_target_dir());
    sh(clippy)?;
    services::ensure_stores()?;
    step("tests");
    sh(cargo(&[
        "test",
        "--workspace",
        "--exclude",
        "frontend",
        "--exclude",
        "e2e",
    ]))?;
    services::test_each_store_kind()?;
    step("frontend unit tests (pure logic, native)");
    sh(cargo(&["test", "--package", "frontend", "--lib"]))?;
    fuzz::smoke()?;
    tools::ensure_chromium()?;
    dist()?;
    step("end-to-end tests in headless Chromium (screenshots in target/screenshots/)");
    // One browser at a time: these machines have two cores.
    sh(cargo(&[
        "test",
        "--package",
        "e2e",
        "--",
        "--test-threads=1",
    ]))
}

/// The wasm build keeps its own target dir so it never invalidates the
/// backend's artifacts.
fn wasm_target_dir() -> PathBuf {
    root().join("target").join("wasm")
}

/// cargo build → wasm-bindgen → wasm-opt, the same three steps trunk takes.
fn dist() -> Result<PathBuf> {
    let tools = tools::ensure_all()?;
    step("building the frontend (release, wasm32)");
    let mut build = cargo(&[
        "build",
        "--release",
        "--package",
        "frontend",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    build.env("CARGO_TARGET_DIR", wasm_target_dir());
    sh(build)?;
    let out = root().join("dist").join("acapp");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let wasm = wasm_target_dir().join("wasm32-unknown-unknown/release/frontend.wasm");
    let raw_size = file_size(&wasm)?;
    step("wasm-bindgen");
    let mut bindgen = Command::new(&tools.wasm_bindgen);
    bindgen
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&out)
        .arg(&wasm);
    sh(bindgen)?;
    step("wasm-opt -Oz");
    let bundle = out.join("frontend_bg.wasm");
    let mut opt = Command::new(&tools.wasm_opt);
    opt.arg("-Oz")
        .arg("--enable-bulk-memory")
        .arg("--enable-nontrapping-float-to-int")
        .arg(&bundle)
        .arg("-o")
        .arg(&bundle);
    sh(opt)?;
    for file in ["game.js", "game.css"] {
        let from = root().join("frontend/acapp").join(file);
        std::fs::copy(&from, out.join(file))
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    let index = root().join("index.html");
    std::fs::copy(&index, root().join("dist/index.html"))
        .map_err(|e| format!("cannot copy index.html: {e}"))?;
    eprintln!(
        "wasm: {} KB before wasm-opt, {} KB after; glue JS {} KB",
        raw_size / 1024,
        file_size(&bundle)? / 1024,
        file_size(&out.join("frontend.js"))? / 1024
    );
    Ok(out)
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}
