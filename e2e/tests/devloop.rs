//! The frontend dev loop end to end (issue 11): the real `cargo xtask serve`
//! on 8080/8000/8001, a login through trunk on the web and in the simulated
//! AcApp window, an edit of a frontend string that both pages show without
//! a manual reload, then logins that trigger no rebuild.
//!
//! `cargo xtask test` runs it after building what serve needs, so serve
//! starts in seconds. It needs trunk installed (`cargo xtask setup`) and the
//! three ports free. The edited file is restored when the test ends, panics
//! included; a run killed outright is repaired by the next one from its
//! backup in `target/devloop-test/`.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{browser, workspace, Stack};

/// From `cargo xtask serve` to "Ready": its builds are done beforehand by
/// `cargo xtask test`; trunk's first build is then only wasm-bindgen.
const READY_WITHIN: Duration = Duration::from_secs(240);
/// From an edit (or its undoing) until both pages show it: measured 1 to 3 s.
const REBUILD_WITHIN: Duration = Duration::from_secs(90);
const LOGIN_WITHIN: Duration = Duration::from_secs(30);

const SOURCE: &str = "frontend/src/components/login.rs";
const BUTTON: &str = "AcWing一键登录";
const BUSY: &str = "正在登录…";
const EDITED: &str = " (edited by the dev-loop test)";

fn scratch() -> PathBuf {
    workspace().join("target").join("devloop-test")
}

/// `cargo xtask serve` in its own process group: trunk, the backend and
/// any cargo it started stop with it, on drop and so on panic too.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start() -> Serve {
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
            .args(["xtask", "serve"])
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

/// A source file as it was: put back on drop (so on panic too), and from a
/// backup by the next run if this one was killed before it could.
struct Restore {
    path: PathBuf,
    backup: PathBuf,
    original: String,
}

impl Restore {
    fn new(relative: &str) -> Restore {
        let path = workspace().join(relative);
        let backup = scratch().join(Path::new(relative).file_name().unwrap());
        if let Ok(left) = std::fs::read_to_string(&backup) {
            // A previous run died mid-edit.
            std::fs::write(&path, left).unwrap();
        }
        let original = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&backup, &original).unwrap();
        Restore {
            path,
            backup,
            original,
        }
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }

    fn restore(&self) {
        std::fs::write(&self.path, &self.original).unwrap();
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if std::fs::write(&self.path, &self.original).is_ok() {
            let _ = std::fs::remove_file(&self.backup);
        }
    }
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
    let mut serve = Serve::start();
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
    let source = Restore::new(SOURCE);
    let edited = source
        .original
        .replace(&format!("\"{BUTTON}\""), &format!("\"{BUTTON}{EDITED}\""))
        .replace(&format!("\"{BUSY}\""), &format!("\"{BUSY}{EDITED}\""));
    assert_ne!(
        edited, source.original,
        "{SOURCE} no longer has the strings"
    );
    for s in [&web, &window] {
        s.js("window.devloopMarker = 1; return 1;").await;
    }
    let edit = Instant::now();
    source.write(&edited);
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
    source.restore();
    body_lacks(&web, EDITED, REBUILD_WITHIN).await;
    body_has(&web, BUTTON, REBUILD_WITHIN).await;
    body_lacks(&window, EDITED, REBUILD_WITHIN).await;
    body_has(&window, BUSY, REBUILD_WITHIN).await;
    drop(source);
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
    eprintln!(
        "dev-loop check took {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
