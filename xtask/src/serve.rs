//! `cargo xtask serve`: the frontend dev loop. The backend runs with `--dev`
//! (demo mode, public URL http://127.0.0.1:8080) behind `trunk serve`, which
//! rebuilds on every edit; both web pages reload themselves.
//!
//! The first run is mostly compiling: trunk's install, the backend and the
//! wasm frontend. They run at the same time (their logs in
//! `target/serve-logs/`, one progress line every few seconds), and the URLs
//! are printed once each of them answers, not before.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

pub fn serve() -> Result {
    let started = Instant::now();
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
    let tools = tools::ensure_all()?;
    tools::link_for_trunk(&tools)?;
    let logs = root().join("target").join("serve-logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;

    step(&format!(
        "building at the same time (logs in {})",
        logs.display()
    ));
    let mut jobs = Vec::new();
    let trunk = tools::trunk_bin();
    if !trunk.exists() {
        jobs.push(Job::start(
            "trunk install (once per user)",
            tools::trunk_install()?,
            &logs.join("trunk-install.log"),
        )?);
    }
    jobs.push(Job::start(
        "backend",
        cargo(&["build", "--package", "backend", "--bin", "acapp-server"]),
        &logs.join("backend.log"),
    )?);
    // The very command trunk runs (debug), so that its first build is only
    // wasm-bindgen.
    let mut frontend = cargo(&[
        "build",
        "--target=wasm32-unknown-unknown",
        "--manifest-path",
        "frontend/Cargo.toml",
    ]);
    frontend.env("CARGO_TARGET_DIR", trunk_target_dir());
    jobs.push(Job::start(
        "frontend (wasm)",
        frontend,
        &logs.join("frontend.log"),
    )?);
    wait_for_jobs(&mut jobs, started)?;
    tools::put_trunk_on_path(&trunk)?;

    step("starting the backend (--dev) and trunk serve");
    let server = root().join("target/debug/acapp-server");
    let mut backend = Command::new(&server);
    // Started directly, not through `cargo run`: killing cargo would leave
    // the server holding ports 8000 and 8001.
    backend.arg("--dev").current_dir(root());
    let backend = Guard(
        backend
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?,
    );
    // No PATH changes: trunk finds the pinned tools in its own cache, as a
    // bare `trunk serve` does.
    let mut trunk_serve = Command::new(&trunk);
    trunk_serve
        .arg("serve")
        .current_dir(root())
        .env("CARGO_TARGET_DIR", trunk_target_dir());
    let trunk_serve = Guard(
        trunk_serve
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", trunk.display()))?,
    );
    let mut children = [("the backend", backend), ("trunk", trunk_serve)];
    wait_until_up(&mut children, started)?;
    let bar = "=".repeat(72);
    eprintln!(
        "\n{bar}\nReady in {}:\n  web:                http://{APP}/\n  AcApp window:       http://{SIMULATOR}/acapp/\nEdits under frontend/, shared/ and index.html rebuild and reload both. Ctrl-C stops everything.\n{bar}\n",
        elapsed(started)
    );
    let [_, (_, trunk_serve)] = &mut children;
    trunk_serve.0.wait().map_err(|e| e.to_string())?;
    Ok(())
}

/// A child killed when dropped: an error or Ctrl-C in xtask must not leave
/// a server holding its ports.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        eprintln!("  {name}: started");
        Ok(Job {
            name,
            log: log.to_owned(),
            child: Guard(child),
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
