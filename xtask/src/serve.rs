//! `cargo xtask serve`: the frontend dev loop. The backend runs with `--dev`
//! (demo mode, public URL http://127.0.0.1:8080) behind `trunk serve`, which
//! rebuilds on every edit; both web pages reload themselves.
//!
//! The first run is mostly compiling: trunk's install, the backend and the
//! wasm frontend. They run at the same time (their logs in
//! `target/serve-logs/`, one progress line every few seconds), and the URLs
//! are printed once each of them answers, not before.
//!
//! `--trunk-root DIR` has trunk build and watch a copy of the frontend in
//! DIR instead of this checkout's (the dev-loop test edits such a copy);
//! the backend, the logs and the build caches stay this checkout's.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{cargo, root, step, tools, Result};

const APP: &str = "127.0.0.1:8080";
const BACKEND: &str = "127.0.0.1:8000";
const SIMULATOR: &str = "127.0.0.1:8001";
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// trunk's first build after ours is only wasm-bindgen; a cold one on two
/// busy cores has taken minutes.
const ANSWER_WITHIN: Duration = Duration::from_secs(600);

/// trunk's wasm build has its own target folder, so that it and the
/// backend's build neither wait on each other's lock nor invalidate each
/// other.
pub fn trunk_target_dir() -> PathBuf {
    root().join("target").join("trunk")
}

/// Left in trunk's target folder while it may hold a build of an edited
/// copy of the frontend (by the dev-loop test, `e2e/tests/devloop.rs`, which
/// shares the folder to stay fast), and removed once the unedited source is
/// built again. Cargo judges by modification times: such a build is newer
/// than the checkout's files, so it would pass as up to date for them.
fn edited_copy_marker() -> PathBuf {
    trunk_target_dir().join("edited-copy")
}

/// If a run that edited a copy was killed before it could undo its edit,
/// drops the frontend crate's build (seconds to redo; its dependencies stay).
fn forget_an_edited_copy() -> Result {
    let marker = edited_copy_marker();
    if !marker.exists() {
        return Ok(());
    }
    step("dropping the frontend build of an edited copy (a dev-loop test was killed mid-edit)");
    let mut clean = cargo(&[
        "clean",
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    clean.env("CARGO_TARGET_DIR", trunk_target_dir());
    crate::sh(clean)?;
    std::fs::remove_file(&marker).map_err(|e| format!("cannot remove {}: {e}", marker.display()))
}

/// Where trunk runs: this checkout, or the folder after `--trunk-root`.
fn trunk_root(args: &[String]) -> Result<PathBuf> {
    let dir = match args {
        [] => return Ok(root()),
        [flag, dir] if flag == "--trunk-root" => {
            std::path::absolute(dir).map_err(|e| format!("--trunk-root {dir}: {e}"))?
        }
        _ => return Err("usage: cargo xtask serve [--trunk-root DIR]".into()),
    };
    if !dir.join("Trunk.toml").is_file() {
        return Err(format!(
            "--trunk-root {}: no Trunk.toml there; it takes a copy of this checkout's frontend/, shared/, Trunk.toml and what cargo needs to build them",
            dir.display()
        ));
    }
    Ok(dir)
}

pub fn serve(args: &[String]) -> Result {
    stop_children_on_signals()?;
    let started = Instant::now();
    let trunk_root = trunk_root(args)?;
    for (addr, what) in [
        (APP, "trunk"),
        (BACKEND, "the backend"),
        (SIMULATOR, "the simulator"),
    ] {
        if answers(addr) {
            return Err(format!(
                "{addr} ({what}'s port) is already in use: is another `cargo xtask serve`, `trunk serve` or backend running?"
            ));
        }
    }
    tools::ensure_wasm_target()?;
    let logs = root().join("target").join("serve-logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;

    step(&format!(
        "building at the same time (logs in {})",
        logs.display()
    ));
    let mut jobs = Vec::new();
    if let Some(install) = tools::wasm_bindgen_install()? {
        jobs.push(Job::start(
            "wasm-bindgen install (once per user)",
            install,
            &logs.join("wasm-bindgen-install.log"),
        )?);
    }
    let trunk = tools::trunk_bin();
    if !trunk.exists() {
        jobs.push(Job::start(
            "trunk install (once per user)",
            tools::trunk_install()?,
            &logs.join("trunk-install.log"),
        )?);
    }
    forget_an_edited_copy()?;
    let [backend, frontend] = builds(&trunk_root);
    jobs.push(Job::start("backend", backend, &logs.join("backend.log"))?);
    jobs.push(Job::start(
        "frontend (wasm)",
        frontend,
        &logs.join("frontend.log"),
    )?);
    wait_for_jobs(&mut jobs, started)?;
    // Finds wasm-bindgen installed above; wasm-opt comes from npm in seconds.
    tools::link_for_trunk(&tools::ensure_all()?)?;
    tools::put_trunk_on_path(&trunk)?;

    step("starting the backend (--dev) and trunk serve");
    let server = root().join("target/debug/acapp-server");
    let mut backend = Command::new(&server);
    // Started directly, not through `cargo run`: killing cargo would leave
    // the server holding ports 8000 and 8001.
    backend.arg("--dev").current_dir(root());
    let backend = Guard::spawn(&mut backend)
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    // No PATH changes: trunk finds the pinned tools in its own cache, as a
    // bare `trunk serve` does.
    let mut trunk_serve = Command::new(&trunk);
    trunk_serve
        .arg("serve")
        .current_dir(&trunk_root)
        .env("CARGO_TARGET_DIR", trunk_target_dir());
    let trunk_serve = Guard::spawn(&mut trunk_serve)
        .map_err(|e| format!("cannot start {}: {e}", trunk.display()))?;
    let mut children = [("the backend", backend), ("trunk", trunk_serve)];
    wait_until_up(&mut children, started)?;
    let bar = "=".repeat(72);
    let sources = if trunk_root == root() {
        String::new()
    } else {
        format!("{}/", trunk_root.display())
    };
    eprintln!(
        "\n{bar}\nReady in {}:\n  web:                http://{APP}/\n  AcApp window:       http://{SIMULATOR}/acapp/\nEdits under {sources}frontend/ (index.html included) and {sources}shared/ rebuild and reload both. Ctrl-C stops everything.\n{bar}\n",
        elapsed(started)
    );
    let [_, (_, trunk_serve)] = &mut children;
    trunk_serve.0.wait().map_err(|e| e.to_string())?;
    Ok(())
}

/// What serve builds before it starts anything: the backend (debug), and
/// the very wasm build trunk runs in `trunk_root`, so that trunk's first
/// build is only wasm-bindgen.
fn builds(trunk_root: &Path) -> [Command; 2] {
    // `--dev` is demo mode, which only a build with the feature has.
    let backend = cargo(&[
        "build",
        "--package",
        "backend",
        "--features",
        "demo",
        "--bin",
        "acapp-server",
    ]);
    let mut frontend = cargo(&[
        "build",
        "--target=wasm32-unknown-unknown",
        "--manifest-path",
    ]);
    frontend
        .arg(trunk_root.join("frontend/Cargo.toml"))
        .env("CARGO_TARGET_DIR", trunk_target_dir());
    [backend, frontend]
}

/// serve's builds, one after the other, for `cargo xtask test`: the
/// dev-loop test then starts serve in seconds.
pub fn build_for_serve() -> Result {
    forget_an_edited_copy()?;
    for build in builds(&root()) {
        crate::sh(build)?;
    }
    Ok(())
}

/// trunk's install (minutes, once per user) in the background, started
/// first thing by `cargo xtask test` when trunk is missing so that it runs
/// beside the other steps; its log in `target/serve-logs/`.
pub struct TrunkInstall {
    child: Guard,
    log: PathBuf,
    started: Instant,
}

impl TrunkInstall {
    pub fn start_if_missing() -> Result<Option<TrunkInstall>> {
        if tools::trunk_bin().exists() {
            return Ok(None);
        }
        let logs = root().join("target").join("serve-logs");
        std::fs::create_dir_all(&logs)
            .map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
        let log = logs.join("trunk-install.log");
        eprintln!(
            "  trunk {} is not installed: installing it in the background (about 5 minutes, once per user; log in {})",
            tools::TRUNK_VERSION,
            log.display()
        );
        let job = Job::start(
            "trunk install (once per user)",
            tools::trunk_install()?,
            &log,
        )?;
        Ok(Some(TrunkInstall {
            child: job.child,
            log,
            started: Instant::now(),
        }))
    }

    pub fn wait(mut self) -> Result {
        step("waiting for trunk's install (started in the background)");
        let mut last_report = Instant::now();
        loop {
            if let Some(status) = self.child.0.try_wait().map_err(|e| e.to_string())? {
                if !status.success() || !tools::trunk_bin().exists() {
                    return Err(format!(
                        "trunk's install failed ({status}); its log: {}",
                        self.log.display()
                    ));
                }
                eprintln!("  installed, {} after it started", elapsed(self.started));
                return Ok(());
            }
            if last_report.elapsed() >= PROGRESS_EVERY {
                last_report = Instant::now();
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty());
                eprintln!(
                    "  [{}] trunk install: {}",
                    elapsed(self.started),
                    last.unwrap_or("starting")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// The children alive now, for the signal handler.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn stop(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// However xtask alone is told to stop (an IDE's stop button, `kill PID`, a
/// closed terminal), its children stop with it; a terminal's Ctrl-C reaches
/// the whole process group anyway. Only SIGKILL, which nothing can catch,
/// leaves them behind.
fn stop_children_on_signals() -> Result {
    ctrlc::set_handler(|| {
        if let Ok(children) = CHILDREN.lock() {
            children.iter().copied().for_each(stop);
        }
        std::process::exit(130);
    })
    .map_err(|e| format!("cannot handle signals: {e}"))
}

/// A child stopped when dropped or when xtask is signalled: an error,
/// Ctrl-C or `kill` must not leave a server holding its ports.
struct Guard(Child);

impl Guard {
    fn spawn(cmd: &mut Command) -> std::io::Result<Guard> {
        let child = cmd.spawn()?;
        if let Ok(mut children) = CHILDREN.lock() {
            children.push(child.id());
        }
        Ok(Guard(child))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = self.0.id();
        let _ = self.0.kill();
        let _ = self.0.wait();
        if let Ok(mut children) = CHILDREN.lock() {
            children.retain(|&id| id != pid);
        }
    }
}

struct Job {
    name: &'static str,
    log: PathBuf,
    child: Guard,
    done: Option<Duration>,
}

impl Job {
    fn start(name: &'static str, mut cmd: Command, log: &Path) -> Result<Job> {
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        cmd.current_dir(root())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = Guard::spawn(&mut cmd).map_err(|e| format!("cannot start {name}: {e}"))?;
        eprintln!("  {name}: started");
        Ok(Job {
            name,
            log: log.to_owned(),
            child,
            done: None,
        })
    }

    /// The last line cargo wrote, e.g. `Compiling yew v0.23.0`.
    fn last_line(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("starting")
            .chars()
            .take(60)
            .collect()
    }
}

fn wait_for_jobs(jobs: &mut [Job], started: Instant) -> Result {
    let mut last_report = Instant::now();
    loop {
        for job in jobs.iter_mut().filter(|j| j.done.is_none()) {
            let Some(status) = job.child.0.try_wait().map_err(|e| e.to_string())? else {
                continue;
            };
            if !status.success() {
                let text = std::fs::read_to_string(&job.log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                for line in tail.iter().rev() {
                    eprintln!("  | {line}");
                }
                return Err(format!(
                    "{} failed ({status}); its whole log: {}",
                    job.name,
                    job.log.display()
                ));
            }
            job.done = Some(started.elapsed());
            eprintln!("  {}: done at {}", job.name, elapsed(started));
        }
        if jobs.iter().all(|j| j.done.is_some()) {
            return Ok(());
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            let busy: Vec<String> = jobs
                .iter()
                .filter(|j| j.done.is_none())
                .map(|j| format!("{}: {}", j.name, j.last_line()))
                .collect();
            eprintln!("  [{}] {}", elapsed(started), busy.join(" · "));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Until the page, the API through trunk's proxy and the AcApp window all
/// answer 200; a child that exits meanwhile is an error.
fn wait_until_up(children: &mut [(&str, Guard)], started: Instant) -> Result {
    let checks = [
        (APP, "/", "trunk's page"),
        (APP, "/healthz", "the API through trunk"),
        (SIMULATOR, "/acapp/", "the AcApp window"),
    ];
    let mut last_report = Instant::now();
    let waiting_since = Instant::now();
    loop {
        for (name, child) in children.iter_mut() {
            if let Some(status) = child.0.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("{name} exited ({status}) before the app was up"));
            }
        }
        let pending: Vec<&str> = checks
            .iter()
            .filter(|(addr, path, _)| http_status(addr, path) != Some(200))
            .map(|(_, _, what)| *what)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if waiting_since.elapsed() > ANSWER_WITHIN {
            return Err(format!(
                "still not answering after {}: {}",
                elapsed(started),
                pending.join(", ")
            ));
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            eprintln!(
                "  [{}] waiting for {}",
                elapsed(started),
                pending.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn answers(addr: &str) -> bool {
    let addr: SocketAddr = addr.parse().expect("a literal address");
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// The status of `GET path`, or None if nothing answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let sock: SocketAddr = addr.parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 16];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn elapsed(since: Instant) -> String {
    let secs = since.elapsed().as_secs();
    format!("{}m{:02}s", secs / 60, secs % 60)
}

/// The dev-loop check of `cargo xtask test`: a bare `trunk build --release`
/// from the repo root, with none of the project's tools on PATH, builds the
/// app from trunk's cache; with an empty cache it stops and names the
/// command that sets the tools up. Skipped, loudly, when trunk is not
/// installed: installing it takes about ten minutes, once per user
/// (`cargo xtask setup`).
pub fn check_bare_trunk() -> Result {
    let trunk = tools::trunk_bin();
    if !trunk.exists() {
        let bar = "!".repeat(72);
        eprintln!(
            "\n{bar}\n!!! trunk {} is not installed: the dev-loop check (bare `trunk build --release`)\n!!! is SKIPPED. `cargo xtask setup` installs it (about 10 minutes, once per user).\n{bar}\n",
            tools::TRUNK_VERSION
        );
        return Ok(());
    }
    step("the dev loop: bare `trunk build --release` with nothing on PATH");
    tools::link_for_trunk(&tools::ensure_all()?)?;
    let path = bare_path()?;
    let out = root().join("target").join("devloop-check");
    let run = |dist: &Path, cache: Option<&Path>| -> Result<(bool, String)> {
        let mut build = Command::new(&trunk);
        build
            .args(["build", "--release", "--dist"])
            .arg(dist)
            .current_dir(root())
            .env("PATH", &path)
            // `cargo xtask dist` has just built the same wasm-release crate.
            .env("CARGO_TARGET_DIR", crate::dist::wasm_target_dir())
            .env_remove("TRUNK_OFFLINE");
        if let Some(cache) = cache {
            build.env("XDG_CACHE_HOME", cache);
        }
        let output = build
            .output()
            .map_err(|e| format!("cannot run {}: {e}", trunk.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok((output.status.success(), text))
    };

    let started = Instant::now();
    let dist = out.join("dist");
    let (ok, text) = run(&dist, None)?;
    if !ok {
        return Err(format!("bare `trunk build --release` failed:\n{text}"));
    }
    let wasm = std::fs::read(dist.join("acapp/frontend_bg.wasm"))
        .map_err(|e| format!("trunk built no acapp/frontend_bg.wasm: {e}"))?;
    if !wasm.starts_with(b"\0asm") {
        return Err("acapp/frontend_bg.wasm is not wasm".into());
    }
    for file in [
        "index.html",
        "acapp/frontend.js",
        "acapp/game.js",
        "acapp/game.css",
    ] {
        if !dist.join(file).is_file() {
            return Err(format!("trunk built no {file}"));
        }
    }
    // wasm-opt ran: it drops the `name` section, most of what it saves.
    if wasm.windows(5).any(|w| w == b"\x04name") {
        return Err("acapp/frontend_bg.wasm still has its name section: did wasm-opt run?".into());
    }
    eprintln!(
        "  built in {:.0} s ({} KB of wasm)",
        started.elapsed().as_secs_f64(),
        wasm.len() / 1024
    );

    let empty = out.join("empty-cache");
    let _ = std::fs::remove_dir_all(&empty);
    std::fs::create_dir_all(&empty).map_err(|e| e.to_string())?;
    let (ok, text) = run(&out.join("dist-untooled"), Some(&empty))?;
    if ok || !text.contains("run `cargo xtask setup`") {
        return Err(format!(
            "with the tools missing, trunk should stop and name `cargo xtask setup`; it said:\n{text}"
        ));
    }
    eprintln!("  with the tools missing it stops and names `cargo xtask setup`");
    Ok(())
}

/// A PATH with cargo and the system's basics (sh, node for npm's wasm-opt)
/// but none of the project's tools: a folder of links to cargo, rustc and
/// rustup, then /usr/bin and /bin.
fn bare_path() -> Result<std::ffi::OsString> {
    let bin = root().join("target").join("devloop-check").join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    for tool in ["cargo", "rustc", "rustup"] {
        let Some(found) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let link = bin.join(tool);
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&found, &link).map_err(|e| e.to_string())?;
        #[cfg(not(unix))]
        std::fs::copy(&found, &link).map_err(|e| e.to_string())?;
    }
    std::env::join_paths([bin, "/usr/bin".into(), "/bin".into()]).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::tools;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn trunk_runs_in_this_checkout_or_in_a_folder_with_a_trunk_toml() {
        let root = crate::root();
        assert_eq!(super::trunk_root(&[]).unwrap(), root);
        let here = root.display().to_string();
        assert_eq!(
            super::trunk_root(&args(&["--trunk-root", &here])).unwrap(),
            root
        );
        let frontend = root.join("frontend").display().to_string();
        let error = super::trunk_root(&args(&["--trunk-root", &frontend])).unwrap_err();
        assert!(error.contains("no Trunk.toml"), "{error}");
        assert!(super::trunk_root(&args(&["--trunk-root"])).is_err());
        assert!(super::trunk_root(&args(&["--release"])).is_err());
    }

    /// Trunk.toml names the tool versions twice (for trunk and for its
    /// hook); both must be the ones xtask installs.
    #[test]
    fn trunk_toml_pins_the_tools_xtask_installs() {
        let toml = std::fs::read_to_string(crate::root().join("Trunk.toml")).unwrap();
        let bindgen = tools::WASM_BINDGEN_VERSION;
        let opt = tools::wasm_opt_trunk_version();
        assert!(
            toml.contains(&format!("wasm_bindgen = \"{bindgen}\"")),
            "{toml}"
        );
        assert!(toml.contains(&format!("wasm_opt = \"{opt}\"")), "{toml}");
        assert!(
            toml.contains(&format!(
                "command_arguments = [\"xtask/trunk-tools.sh\", \"{bindgen}\", \"{opt}\"]"
            )),
            "{toml}"
        );
        assert!(
            !toml.lines().any(|l| l.trim_start().starts_with("offline")),
            "offline mode skips trunk's cache"
        );
        // The workspace pin too: wasm-bindgen-cli must equal the crate.
        let workspace = std::fs::read_to_string(crate::root().join("Cargo.toml")).unwrap();
        assert!(
            workspace.contains(&format!("\"={bindgen}\"")),
            "{workspace}"
        );
    }
}
