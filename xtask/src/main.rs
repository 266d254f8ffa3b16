//! `cargo xtask run | test | dist`: everything a person or CI types.

mod bench;
mod dist;
mod fuzz;
mod serve;
mod services;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use dist::{dist, wasm_target_dir};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <run|test|dist>
  run   set up what is missing, build the frontend, start the app in demo mode
  test [--no-e2e]  fmt, clippy (-D warnings) and every test; --no-e2e skips the browser tests
  dist  build the frontend bundle into dist/ and print its sizes
  setup install the pinned tools (trunk too) and link them where a bare `trunk serve` finds them
  serve the frontend dev loop: the backend (--dev) behind `trunk serve` (hot reload)
  bench [--quick]  build in release mode and benchmark; writes target/bench/report.md";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let outcome = match task.as_deref() {
        Some("run") => run(),
        Some("test") => test(std::env::args().any(|a| a == "--no-e2e")),
        Some("dist") => dist().map(|_| ()),
        Some("setup") => setup(),
        Some("serve") => serve::serve(),
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
    // The server's release build and the frontend's (tools, wasm) run side
    // by side: each has serial stretches (linking, single-crate steps) that
    // leave a core idle, so together they finish sooner than in turn.
    step("building the server (release) beside the frontend");
    let mut server_build = cargo(&[
        "build",
        "--release",
        "--package",
        "backend",
        "--bin",
        "acapp-server",
    ]);
    let mut server_build = server_build
        .current_dir(root())
        .spawn()
        .map_err(|e| format!("cannot start the server's build: {e}"))?;
    // Cheap, and then a bare `trunk serve` finds the tools too.
    let frontend = dist().and_then(|_| tools::link_for_trunk(&tools::ensure_all()?));
    if frontend.is_err() {
        let _ = server_build.kill();
    }
    let built = server_build
        .wait()
        .map_err(|e| format!("the server's build: {e}"))?;
    frontend?;
    if !built.success() {
        return Err(format!("the server's release build failed with {built}"));
    }
    step("starting the server in demo mode");
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

/// Everything the dev loop needs, once per user: afterwards a bare `trunk
/// serve` or `trunk build --release` works offline with no PATH changes.
fn setup() -> Result {
    let tools = tools::ensure_all()?;
    let trunk = tools::ensure_trunk()?;
    tools::link_for_trunk(&tools)?;
    tools::put_trunk_on_path(&trunk)?;
    eprintln!(
        "set up: trunk {}, wasm-bindgen {} and wasm-opt {} (linked into {})",
        tools::TRUNK_VERSION,
        tools::WASM_BINDGEN_VERSION,
        tools::wasm_opt_trunk_version(),
        tools::trunk_cache_dir().display()
    );
    Ok(())
}

fn test(no_e2e: bool) -> Result {
    // The dev-loop test needs trunk: a missing one installs beside the rest.
    let trunk_install = if no_e2e {
        None
    } else {
        serve::TrunkInstall::start_if_missing()?
    };
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
    let browser = if no_e2e {
        loudly_skipping_e2e();
        None
    } else {
        Some(tools::ensure_chromium()?)
    };
    dist()?;
    if let Some(install) = trunk_install {
        install.wait()?;
    }
    serve::check_bare_trunk()?;
    step("the built bundle over HTTP: compression, cache headers, CORS");
    sh(cargo(&["test", "--package", "e2e", "--test", "assets"]))?;
    let Some(browser) = browser else {
        loudly_skipping_e2e();
        return Ok(());
    };
    step("end-to-end tests in headless Chromium (screenshots in target/screenshots/)");
    // One browser at a time: these machines have two cores.
    let mut e2e = cargo(&[
        "test",
        "--package",
        "e2e",
        "--test",
        "browser",
        "--test",
        "simulator",
        "--test",
        "live_reload",
        "--",
        "--test-threads=1",
    ]);
    e2e.env("CHROME_BIN", &browser.chrome)
        .env("CHROMEDRIVER", &browser.driver);
    let started = std::time::Instant::now();
    let outcome = sh(e2e);
    eprintln!(
        "end-to-end tests took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    outcome?;

    step("the dev loop: `cargo xtask serve`, an edit reloads both pages, logins rebuild nothing");
    tools::ensure_trunk()?;
    serve::build_for_serve()?;
    let mut devloop = cargo(&["test", "--package", "e2e", "--test", "devloop"]);
    devloop
        .env("CHROME_BIN", &browser.chrome)
        .env("CHROMEDRIVER", &browser.driver);
    let started = std::time::Instant::now();
    let outcome = sh(devloop);
    eprintln!(
        "the dev-loop check took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    outcome
}

fn loudly_skipping_e2e() {
    let bar = "!".repeat(72);
    eprintln!("\n{bar}\n!!! --no-e2e: the browser (end-to-end) tests are SKIPPED, the dev-loop check\n!!! (`cargo xtask serve` in a browser) too. Nothing here has been checked in a browser.\n{bar}\n");
}
