//! Real `redis-server` and PostgreSQL (Debian's packages) for the tests: on
//! loopback, on a free port, in a temporary directory.
//!
//! Each server runs under a small `sh` watchdog whose stdin is a pipe from
//! this process: when the pipe closes (the service is stopped or dropped,
//! or the test binary exits, panics or is killed) the watchdog stops the
//! server. So no server outlives its test binary.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use backend::secret::random_hex;

/// Debian's PostgreSQL binaries (`postgresql` package), newest first.
const PG_VERSIONS: &[&str] = &["17", "16", "15", "14", "13"];
/// PostgreSQL refuses to run as root; as root the tests run it as nobody.
const NOBODY: u32 = 65534;
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn temp_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("acapp-{kind}-{}", random_hex(6)));
    std::fs::create_dir_all(&dir).unwrap();
    if running_as_root() {
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    dir
}

fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "{what} did not listen on {port} within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server process behind its watchdog.
struct Watched {
    shell: Child,
    stdin: Option<ChildStdin>,
}

impl Watched {
    /// Runs `program args…`; on EOF the watchdog sends `signal`, waits,
    /// and then deletes `remove` if given (for servers nobody drops).
    fn spawn(
        program: &Path,
        args: &[String],
        signal: &str,
        as_nobody: bool,
        remove: Option<&Path>,
    ) -> Watched {
        let cleanup = remove
            .map(|dir| format!("; rm -rf '{}'", dir.display()))
            .unwrap_or_default();
        let script = format!(
            "\"$@\" </dev/null >/dev/null 2>&1 & p=$!; cat >/dev/null; kill -{signal} $p; wait $p{cleanup}"
        );
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if as_nobody {
            use std::os::unix::process::CommandExt;
            command.uid(NOBODY).gid(NOBODY);
        }
        let mut shell = command.spawn().expect("sh starts");
        let stdin = shell.stdin.take();
        Watched { shell, stdin }
    }

    /// Closes the pipe and waits until the server has exited.
    fn stop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.shell.wait();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `redis-server` with no persistence.
pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    process: Option<Watched>,
    /// Kept in a static, never dropped: the watchdog deletes the directory.
    shared: bool,
    /// More `redis-server` arguments (say, to disable a command).
    extra_args: Vec<String>,
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_as(false)
    }

    /// With more configuration, for example `--rename-command GETDEL ""`
    /// to stand in for a Redis older than the command.
    pub fn start_with(extra_args: &[&str]) -> Redis {
        let mut redis = Redis {
            port: free_port(),
            dir: temp_dir("redis"),
            process: None,
            shared: false,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        redis.restart();
        redis
    }

    /// For a static: stopped, and its directory deleted, when the test
    /// binary exits.
    pub fn start_shared() -> Redis {
        Self::start_as(true)
    }

    fn start_as(shared: bool) -> Redis {
        let mut redis = Redis {
            port: free_port(),
            dir: temp_dir("redis"),
            process: None,
            shared,
            extra_args: Vec::new(),
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts it (again) on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        let args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &self.dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(self.extra_args.iter().cloned())
        .collect();
        self.process = Some(Watched::spawn(
            Path::new("redis-server"),
            &args,
            "TERM",
            false,
            self.shared.then_some(self.dir.as_path()),
        ));
        wait_for_port(self.port, "redis-server");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster with trust authentication on loopback only.
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    process: Option<Watched>,
    /// Kept in a static, never dropped: the watchdog deletes the directory.
    shared: bool,
}

fn pg_bin() -> PathBuf {
    PG_VERSIONS
        .iter()
        .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
        .find(|dir| dir.join("postgres").exists())
        .expect(
            "PostgreSQL is installed (Debian's postgresql package; cargo xtask test installs it)",
        )
}

impl Postgres {
    pub fn start() -> Postgres {
        Self::start_as(false)
    }

    /// For a static: stopped, and its directory deleted, when the test
    /// binary exits.
    pub fn start_shared() -> Postgres {
        Self::start_as(true)
    }

    fn start_as(shared: bool) -> Postgres {
        let bin = pg_bin();
        let dir = temp_dir("pg");
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "-U",
                "acapp",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if running_as_root() {
            use std::os::unix::process::CommandExt;
            initdb.uid(NOBODY).gid(NOBODY);
        }
        let out = initdb.output().expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Postgres {
            port: free_port(),
            dir,
            bin,
            process: None,
            shared,
        };
        pg.restart();
        pg
    }

    /// The cluster's maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://acapp@127.0.0.1:{}/postgres", self.port)
    }

    pub fn url_of(&self, database: &str) -> String {
        format!("postgres://acapp@127.0.0.1:{}/{database}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts it (again) on the same port, with its data.
    pub fn restart(&mut self) {
        self.stop();
        let args: Vec<String> = vec![
            "-D".into(),
            self.dir.join("data").display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-k".into(),
            self.dir.display().to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "fsync=off".into(),
            "-c".into(),
            "max_connections=200".into(),
        ];
        // SIGINT: PostgreSQL's fast shutdown (ends sessions, no waiting).
        self.process = Some(Watched::spawn(
            &self.bin.join("postgres"),
            &args,
            "INT",
            running_as_root(),
            self.shared.then_some(self.dir.as_path()),
        ));
        wait_for_port(self.port, "postgres");
    }

    /// A new, empty database; its URL.
    pub async fn create_database(&self) -> String {
        let name = format!("acapp_{}", random_hex(6));
        let started = Instant::now();
        loop {
            // Listening is not ready: it may still be starting up.
            match sqlx::PgPool::connect(&self.admin_url()).await {
                Ok(admin) => {
                    sqlx::query(&format!("CREATE DATABASE {name}"))
                        .execute(&admin)
                        .await
                        .unwrap();
                    admin.close().await;
                    return self.url_of(&name);
                }
                Err(err) => {
                    assert!(started.elapsed() < START_TIMEOUT, "postgres: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
