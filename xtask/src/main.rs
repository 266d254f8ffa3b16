//! `cargo xtask run | test | dist | setup | serve | bench | sim`: everything a
//! person or CI types.
//!
//! - `run`: set up what is missing, build the frontend and the server (with
//!   its `demo` feature), and start the app in demo mode.
//! - `test [lint|unit|stores|e2e|fuzz] [--no-e2e]`: every check, or one stage.
//! - `dist`: the frontend bundle in `dist/`, with its sizes.
//! - `setup`: the pinned tools, where a bare `trunk serve` finds them.
//! - `serve [--trunk-root DIR]`: the frontend dev loop, the backend (`--dev`)
//!   behind `trunk serve`, which builds this checkout's frontend or the copy
//!   in DIR.
//! - `bench [--quick]`: release builds under load; a report in `target/bench/`.
//! - `sim [ARGS]`: the AcWing simulator as a tool for any AcApp
//!   (`acwing-sim/README.md`), with ARGS passed to it.

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

const USAGE: &str = "usage: cargo xtask <run|test|dist|setup|serve|bench|sim>
  run   set up what is missing, build the frontend, start the app in demo mode
  test [STAGE] [--no-e2e]  every check in turn, or one STAGE:
        lint    rustfmt, clippy (-D warnings), and no simulator in the production build
        unit    the workspace's tests (the backend's with and without demo mode)
        stores  the backend's API suites against Redis and PostgreSQL
        fuzz    every fuzz target for a few seconds (nightly, cargo-fuzz)
        e2e     the bundle, the browser tests and the dev loop; --no-e2e skips the browser
  dist  build the frontend bundle into dist/ and print its sizes
  setup install the pinned tools (trunk too) and link them where a bare `trunk serve` finds them
  serve [--trunk-root DIR]  the frontend dev loop: the backend (--dev) behind `trunk serve`
        (hot reload); with --trunk-root, trunk builds and watches the copy of the frontend in DIR
  bench [--quick]  build in release mode and benchmark; writes target/bench/report.md
  sim [ARGS]  run the AcWing simulator for any AcApp, with ARGS (sim --help lists them;
        acwing-sim/README.md)";

/// The stages of `cargo xtask test`, in the order a full run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Lint,
    Unit,
    Stores,
    Fuzz,
    E2e,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Lint,
        Stage::Unit,
        Stage::Stores,
        Stage::Fuzz,
        Stage::E2e,
    ];

    fn parse(name: &str) -> Option<Stage> {
        match name {
            "lint" => Some(Stage::Lint),
            "unit" => Some(Stage::Unit),
            "stores" => Some(Stage::Stores),
            "fuzz" => Some(Stage::Fuzz),
            "e2e" => Some(Stage::E2e),
            _ => None,
        }
    }
}

/// `test`'s arguments: the stages to run (all of them when none is named)
/// and whether to skip the browser.
fn test_args(args: &[String]) -> Result<(Vec<Stage>, bool)> {
    let mut stages = Vec::new();
    let mut no_e2e = false;
    for arg in args {
        match arg.as_str() {
            "--no-e2e" => no_e2e = true,
            name => match Stage::parse(name) {
                Some(stage) if !stages.contains(&stage) => stages.push(stage),
                Some(_) => {}
                None => return Err(format!("unknown test stage `{name}`\n{USAGE}")),
            },
        }
    }
    if stages.is_empty() {
        stages = Stage::ALL.to_vec();
    }
    // The order of a full run, whatever the order they were named in.
    stages.sort_by_key(|stage| Stage::ALL.iter().position(|s| s == stage));
    Ok((stages, no_e2e))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    let outcome = match task {
        Some("run") => run(),
        Some("test") => test_args(rest).and_then(|(stages, no_e2e)| test(&stages, no_e2e)),
        Some("dist") => dist().map(|_| ()),
        Some("setup") => setup(),
        Some("serve") => serve::serve(rest),
        Some("bench") => bench::bench(rest.iter().any(|a| a == "--quick")),
        Some("sim") => sim(rest),
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
        "--features",
        "demo",
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
        "--features",
        "demo",
        "--bin",
        "acapp-server",
        "--",
        "--demo",
    ]))
}

/// `cargo xtask sim [ARGS]`: the simulator's binary with ARGS. On Unix
/// xtask becomes `cargo run`, which becomes the simulator, so that a signal
/// to this process (an IDE's stop button) stops the simulator itself rather
/// than leaving it holding its port.
fn sim(args: &[String]) -> Result {
    let mut run = cargo(&[
        "run",
        "--package",
        "acwing-sim",
        "--bin",
        "acwing-sim",
        "--",
    ]);
    run.args(args).current_dir(root());
    // acwing.com's page has jQuery; so does the simulator's, unless the
    // command line or the environment names another.
    let named = args.iter().any(|a| a.starts_with("--jquery"))
        || std::env::var_os("ACWING_SIM_JQUERY").is_some();
    if !named {
        run.arg("--jquery").arg(tools::ensure_jquery()?);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = run.exec();
        Err(format!("cannot start cargo run: {error}"))
    }
    #[cfg(not(unix))]
    sh(run)
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

fn test(stages: &[Stage], no_e2e: bool) -> Result {
    // The dev-loop test needs trunk: a missing one installs beside the rest.
    let trunk_install = if no_e2e || !stages.contains(&Stage::E2e) {
        None
    } else {
        serve::TrunkInstall::start_if_missing()?
    };
    for stage in stages {
        match stage {
            Stage::Lint => lint()?,
            Stage::Unit => unit()?,
            Stage::Stores => {
                services::ensure_stores()?;
                services::test_each_store_kind()?;
            }
            Stage::Fuzz => fuzz::smoke()?,
            Stage::E2e => return e2e(no_e2e, trunk_install),
        }
    }
    Ok(())
}

/// rustfmt, clippy on both sides (the backend with its `demo` feature too),
/// and the production build's dependencies.
fn lint() -> Result {
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
    step("clippy (the backend with demo mode)");
    sh(cargo(&[
        "clippy",
        "--package",
        "backend",
        "--features",
        "demo",
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
    step("the production server links no simulator");
    production_tree_lacks_the_simulator()
}

/// `cargo tree -p backend -e normal`, the server as deployed (default
/// features), must not list `acwing-sim`: demo mode is a cargo feature.
fn production_tree_lacks_the_simulator() -> Result {
    let output = cargo(&["tree", "--package", "backend", "--edges", "normal"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    match tree.lines().find(|line| line.contains("acwing-sim")) {
        Some(line) => Err(format!(
            "the production server depends on the simulator ({}): keep acwing-sim behind backend's `demo` feature",
            line.trim()
        )),
        None => Ok(()),
    }
}

/// The workspace's tests, then the backend's again with demo mode (its
/// settings and the binary's `--demo`), then the frontend's pure logic.
fn unit() -> Result {
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
    step("backend tests with demo mode (--features demo)");
    sh(cargo(&[
        "test",
        "--package",
        "backend",
        "--features",
        "demo",
        "--lib",
    ]))?;
    sh(cargo(&[
        "test",
        "--package",
        "backend",
        "--features",
        "demo",
        "--test",
        "api",
        "--",
        "session::",
    ]))?;
    step("frontend unit tests (pure logic, native)");
    sh(cargo(&["test", "--package", "frontend", "--lib"]))
}

/// The bundle over HTTP, the browser tests and the dev loop; with
/// `--no-e2e`, the bundle only.
fn e2e(no_e2e: bool, trunk_install: Option<serve::TrunkInstall>) -> Result {
    let browser = if no_e2e {
        loudly_skipping_e2e();
        None
    } else {
        Some((
            tools::ensure_chromium()?,
            tools::ensure_axe_core()?,
            tools::ensure_jquery()?,
        ))
    };
    dist()?;
    if let Some(install) = trunk_install {
        install.wait()?;
    }
    serve::check_bare_trunk()?;
    step("the built bundle over HTTP: compression, cache headers, CORS");
    sh(cargo(&["test", "--package", "e2e", "--test", "assets"]))?;
    let Some((browser, axe_core, jquery)) = browser else {
        loudly_skipping_e2e();
        return Ok(());
    };
    step("end-to-end tests in headless Chromium (screenshots in target/screenshots/)");
    // One browser at a time: these machines have two cores, and the memory
    // test reads the renderer's memory from this process's children.
    let mut e2e = cargo(&[
        "test",
        "--package",
        "e2e",
        "--test",
        "browser",
        "--test",
        "session",
        "--test",
        "accessibility",
        "--test",
        "simulator",
        "--test",
        "live_reload",
        "--",
        "--test-threads=1",
        // The session and accessibility tests print their figures.
        "--show-output",
    ]);
    e2e.env("CHROME_BIN", &browser.chrome)
        .env("CHROMEDRIVER", &browser.driver)
        .env("AXE_CORE_JS", &axe_core)
        .env("JQUERY_JS", &jquery);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn test_runs_every_stage_in_order_or_the_ones_named() {
        assert_eq!(test_args(&[]).unwrap(), (Stage::ALL.to_vec(), false));
        assert_eq!(
            test_args(&args(&["--no-e2e"])).unwrap(),
            (Stage::ALL.to_vec(), true)
        );
        assert_eq!(
            test_args(&args(&["e2e", "lint"])).unwrap(),
            (vec![Stage::Lint, Stage::E2e], false)
        );
        assert_eq!(
            test_args(&args(&["unit", "--no-e2e"])).unwrap(),
            (vec![Stage::Unit], true)
        );
        assert!(test_args(&args(&["browser"])).is_err());
    }

    /// The deployment build of `acapp-server` links no simulator.
    #[test]
    fn the_production_server_does_not_depend_on_the_simulator() {
        production_tree_lacks_the_simulator().unwrap();
    }
}
