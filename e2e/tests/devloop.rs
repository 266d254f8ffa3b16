//! The frontend dev loop end to end (issue 11): the real `cargo xtask serve`
//! on 8080/8000/8001, a login through trunk on the web and in the simulated
//! AcApp window, an edit of a frontend string that both pages show without
//! a manual reload, then logins that trigger no rebuild.
//!
//! `cargo xtask test` runs it after building what serve needs, so serve
//! starts in seconds. It needs trunk installed (`cargo xtask setup`) and the
//! three ports free. The edit is made in a copy of the frontend in
//! `target/devloop-test/checkout/`, which trunk builds and watches
//! (`cargo xtask serve --trunk-root`), never in the checkout: a run killed
//! outright leaves the checkout as it was.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use e2e::{browser, workspace, Stack};

/// From `cargo xtask serve` to "Ready": its builds are done beforehand by
/// `cargo xtask test`; trunk's first build is then only wasm-bindgen.
const READY_WITHIN: Duration = Duration::from_secs(240);
/// From an edit (or its undoing) until both pages show it: measured 1 to 3 s.
const REBUILD_WITHIN: Duration = Duration::from_secs(90);
const LOGIN_WITHIN: Duration = Duration::from_secs(30);

const SOURCE: &str = "frontend/src/text.rs";
const BUTTON: &str = "AcWing一键登录";
const BUSY: &str = "正在登录…";
const EDITED: &str = " (edited by the dev-loop test)";

fn scratch() -> PathBuf {
    workspace().join("target").join("devloop-test")
}

/// What trunk needs to build the frontend besides the root manifest: its
/// config and pre_build hook, the crates it builds, and what makes cargo
/// build them exactly as in the checkout (the lock file, the toolchain,
/// cargo's config), so that the checkout's wasm build is reused.
const COPIED: &[&str] = &[
    "Cargo.lock",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    "Trunk.toml",
    "xtask/trunk-tools.sh",
    "frontend",
    "shared",
];

/// A copy of what trunk builds, for the test to edit: made fresh by each
/// run (a killed run's is replaced), removed when the test ends.
struct FrontendCopy {
    root: PathBuf,
}

impl FrontendCopy {
    fn new() -> FrontendCopy {
        let root = scratch().join("checkout");
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        for path in COPIED {
            copy_keeping_times(&workspace().join(path), &root.join(path));
        }
        std::fs::write(root.join("Cargo.toml"), frontend_workspace()).unwrap();
        FrontendCopy { root }
    }
}

impl Drop for FrontendCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The checkout's workspace manifest with only the two crates trunk builds
/// as members: the others are not copied. The rest (the dependencies all
/// members inherit, the profiles, the lints) stays as it is, so that cargo
/// builds the frontend with the same flags.
fn frontend_workspace() -> String {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let mut members = 0;
    let lines: Vec<&str> = manifest
        .lines()
        .filter(|line| !line.starts_with("default-members"))
        .map(|line| {
            if line.starts_with("members") {
                members += 1;
                r#"members = ["shared", "frontend"]"#
            } else {
                line
            }
        })
        .collect();
    assert_eq!(members, 1, "one `members = [...]` line in Cargo.toml");
    lines.join("\n") + "\n"
}

/// Copies a file or a folder, keeping each file's modification time: cargo
/// judges by those whether its build of the checkout is still current.
fn copy_keeping_times(from: &Path, to: &Path) {
    let metadata = std::fs::metadata(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    if metadata.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let name = entry.unwrap().file_name();
            copy_keeping_times(&from.join(&name), &to.join(&name));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
        let modified: SystemTime = metadata.modified().unwrap();
        File::options()
            .write(true)
            .open(to)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }
}

/// Says, in trunk's target folder (shared with the checkout's serve), that
/// it may hold a build of the edited copy; `cargo xtask serve` drops that
/// build if a killed run leaves this behind (see `edited_copy_marker` in
/// xtask/src/serve.rs).
fn edited_copy_marker() -> PathBuf {
    workspace().join("target").join("trunk").join("edited-copy")
}

/// `cargo xtask serve` in its own process group: trunk, the backend and
/// any cargo it started stop with it, on drop and so on panic too.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    /// `cargo xtask serve --trunk-root <trunk_root>`.
    fn start(trunk_root: &Path) -> Serve {
        stop_leftover();
        for port in [8080, 8000, 8001] {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} is in use: stop the running `cargo xtask serve` (or trunk, or backend) first"
            );
        }
        let log = scratch().join("serve.log");
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let child = Command::new(cargo)
            .args(["xtask", "serve", "--trunk-root"])
            .arg(trunk_root)
            .current_dir(workspace())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("cannot start `cargo xtask serve`");
        std::fs::write(pid_file(), child.id().to_string()).unwrap();
        Serve { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// trunk's builds so far, one `starting build` line each.
    fn builds(&self) -> usize {
        self.log().matches("starting build").count()
    }

    async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if self.log().contains("Ready in ") {
                eprintln!("serve ready in {:.0} s", started.elapsed().as_secs_f64());
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("`cargo xtask serve` exited ({status}):\n{}", self.log());
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "`cargo xtask serve` not ready after {READY_WITHIN:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // The whole group: xtask, the backend, trunk and its cargo.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(pid_file());
        // The ports are free again before the next test (or a person's serve).
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && [8080, 8000, 8001]
                .iter()
                .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn pid_file() -> PathBuf {
    scratch().join("serve.pgid")
}

/// A run killed outright (Ctrl-C, a timeout) cannot stop its serve, which
/// runs in its own process group: the next run does, if that group's
/// leader is still our `cargo xtask serve`.
fn stop_leftover() {
    let Ok(pid) = std::fs::read_to_string(pid_file()) else {
        return;
    };
    let pid = pid.trim();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
    if cmdline.windows(5).any(|w| w == b"xtask") && cwd.as_deref() == Some(&workspace()) {
        eprintln!("stopping the `cargo xtask serve` a killed run left behind ({pid})");
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_secs(2));
    }
    let _ = std::fs::remove_file(pid_file());
}

async fn body_has(s: &Stack, text: &str, within: Duration) {
    let text = serde_json::to_string(text).unwrap();
    s.until(
        &format!("document.body && document.body.innerText.includes({text})"),
        within,
    )
    .await;
}

async fn body_lacks(s: &Stack, text: &str, within: Duration) {
    let text = serde_json::to_string(text).unwrap();
    s.until(
        &format!("document.body && !document.body.innerText.includes({text})"),
        within,
    )
    .await;
}

#[actix_web::test]
async fn serve_reloads_both_pages_after_an_edit_and_logins_trigger_no_rebuild() {
    std::fs::create_dir_all(scratch()).unwrap();
    let started = Instant::now();
    let checkout_source = std::fs::read_to_string(workspace().join(SOURCE)).unwrap();
    let copy = FrontendCopy::new();
    eprintln!(
        "copied what trunk builds in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut serve = Serve::start(&copy.root);
    serve.wait_ready().await;

    // Two browsers: the web page through trunk, the simulated AcApp window.
    let web = browser().await;
    let window = browser().await;
    web.goto("http://127.0.0.1:8080/").await;
    window.goto("http://127.0.0.1:8001/acapp/").await;
    body_has(&web, BUTTON, LOGIN_WITHIN).await;
    // The window starts its one-click login at once and waits on consent.
    body_has(&window, BUSY, LOGIN_WITHIN).await;
    window
        .until("document.body.dataset.liveReload === 'open'", LOGIN_WITHIN)
        .await;

    // An edit: both pages show it, reloaded by trunk, not by us.
    let source = copy.root.join(SOURCE);
    let original = std::fs::read_to_string(&source).unwrap();
    let edited = original
        .replace(&format!("\"{BUTTON}\""), &format!("\"{BUTTON}{EDITED}\""))
        .replace(&format!("\"{BUSY}\""), &format!("\"{BUSY}{EDITED}\""));
    assert_ne!(edited, original, "{SOURCE} no longer has the strings");
    for s in [&web, &window] {
        s.js("window.devloopMarker = 1; return 1;").await;
    }
    std::fs::write(
        edited_copy_marker(),
        "a build of the dev-loop test's edited copy\n",
    )
    .unwrap();
    let edit = Instant::now();
    std::fs::write(&source, &edited).unwrap();
    body_has(&web, &format!("{BUTTON}{EDITED}"), REBUILD_WITHIN).await;
    let on_web = edit.elapsed();
    body_has(&window, &format!("{BUSY}{EDITED}"), REBUILD_WITHIN).await;
    eprintln!(
        "edit shown on the web after {:.1} s, in the AcApp window after {:.1} s",
        on_web.as_secs_f64(),
        edit.elapsed().as_secs_f64()
    );
    for s in [&web, &window] {
        assert_eq!(
            s.js("return window.devloopMarker === undefined;").await,
            true,
            "the page showed the edit without reloading"
        );
    }

    // Undone: both back as they were.
    std::fs::write(&source, &original).unwrap();
    body_lacks(&web, EDITED, REBUILD_WITHIN).await;
    body_has(&web, BUTTON, REBUILD_WITHIN).await;
    body_lacks(&window, EDITED, REBUILD_WITHIN).await;
    body_has(&window, BUSY, REBUILD_WITHIN).await;
    window
        .until("document.body.dataset.liveReload === 'open'", LOGIN_WITHIN)
        .await;
    // trunk settles (a build it started before our reload finished counts).
    let mut builds = serve.builds();
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = serve.builds();
        if now == builds {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(420),
            "trunk keeps rebuilding"
        );
        builds = now;
    }
    // trunk's last build was of the unedited source.
    std::fs::remove_file(edited_copy_marker()).unwrap();

    // Logins in both, through trunk on 8080: nothing they write may rebuild.
    window.js("window.devloopMarker = 2; return 1;").await;
    window
        .until(
            "getComputedStyle(document.getElementById('consent')).display === 'block'",
            LOGIN_WITHIN,
        )
        .await;
    window.click("#acapp-agree").await;
    body_has(&window, "退出", LOGIN_WITHIN).await;
    web.click("button").await;
    web.element("#agree").await;
    web.click("#agree").await;
    body_has(&web, "退出登录", LOGIN_WITHIN).await;
    assert!(
        web.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with("http://127.0.0.1:8080/"),
        "the web login came back through trunk"
    );
    web.js("window.devloopMarker = 3; return 1;").await;
    // Long enough for trunk to notice a write and start a build.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        serve.builds(),
        builds,
        "a login triggered a rebuild:\n{}",
        serve.log()
    );
    assert_eq!(
        window.js("return window.devloopMarker === 2;").await,
        true,
        "the AcApp window reloaded after its login"
    );
    assert_eq!(
        web.js("return window.devloopMarker === 3;").await,
        true,
        "the web page reloaded after its login"
    );
    web.screenshot("devloop-web-logged-in").await;
    window.screenshot("devloop-acapp-logged-in").await;
    web.close().await;
    window.close().await;
    drop(serve);
    assert_eq!(
        std::fs::read_to_string(workspace().join(SOURCE)).unwrap(),
        checkout_source,
        "the checkout's {SOURCE} is as it was: only the copy was edited"
    );
    eprintln!(
        "dev-loop check took {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
