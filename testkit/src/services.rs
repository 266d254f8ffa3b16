//! Real `redis-server` and PostgreSQL (Debian's packages) for tests: on
//! loopback, on a free port, in a temporary directory. `cargo xtask test`
//! installs them; PostgreSQL runs as `nobody` when the tests run as root.
//!
//! Each server runs under a small `sh` watchdog whose stdin is a pipe from
//! this process: when the pipe closes (the service is stopped or dropped,
//! or the test binary exits, panics or is killed) the watchdog stops the
//! server. So no server outlives its test binary.
//!
//! Everything here panics on failure, with what went wrong: it is for tests,
//! which cannot go on without their server.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::names;
use crate::ports::free_port;

/// Debian's PostgreSQL binaries (`postgresql` package), newest first.
const PG_VERSIONS: &[&str] = &["17", "16", "15", "14", "13"];
/// PostgreSQL refuses to run as root; as root the tests run it as nobody.
const NOBODY: u32 = 65534;
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn temp_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("acapp-{kind}-{}", names::unique()));
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

/// A `redis-server` with no persistence, stopped and its directory removed
/// when dropped.
pub struct Redis {
    /// Where it listens on 127.0.0.1; the same after a restart.
    pub port: u16,
    dir: PathBuf,
    process: Option<Watched>,
    /// Kept in a static, never dropped: the watchdog deletes the directory.
    shared: bool,
    /// More `redis-server` arguments (say, to disable a command).
    extra_args: Vec<String>,
}

impl Redis {
    /// Starts one on a free port and waits until it listens.
    pub fn start() -> Redis {
        Self::launch(false, &[])
    }

    /// With more configuration, for example `--rename-command GETDEL ""`
    /// to stand in for a Redis older than the command.
    pub fn start_with(extra_args: &[&str]) -> Redis {
        Self::launch(false, extra_args)
    }

    /// For a static, which is never dropped: stopped, and its directory
    /// deleted, when the test binary exits.
    fn start_shared() -> Redis {
        Self::launch(true, &[])
    }

    fn launch(shared: bool, extra_args: &[&str]) -> Redis {
        let mut redis = Redis {
            port: free_port(),
            dir: temp_dir("redis"),
            process: None,
            shared,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops it and waits until it has exited; its port then refuses
    /// connections until [`Redis::restart`].
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

/// A PostgreSQL cluster with trust authentication for the user `acapp`, on
/// loopback only, stopped and its directory removed when dropped.
pub struct Postgres {
    /// Where it listens on 127.0.0.1; the same after a restart.
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
    /// Creates a cluster in a new temporary directory, starts it on a free
    /// port and waits until it listens.
    pub fn start() -> Postgres {
        Self::start_as(false)
    }

    /// For a static, which is never dropped: stopped, and its directory
    /// deleted, when the test binary exits.
    fn start_shared() -> Postgres {
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

    /// The URL of one of its databases.
    pub fn url_of(&self, database: &str) -> String {
        format!("postgres://acapp@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops it (fast shutdown) and waits until it has exited; the data
    /// stays for [`Postgres::restart`].
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
    ///
    /// Made with the cluster's own `createdb`, so that this crate needs no
    /// PostgreSQL driver; on a blocking thread, so that servers running on
    /// the caller's runtime keep answering meanwhile.
    pub async fn create_database(&self) -> String {
        let name = format!("acapp_{}", names::unique());
        let started = Instant::now();
        loop {
            let mut createdb = Command::new(self.bin.join("createdb"));
            createdb
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "acapp", &name]);
            let out = tokio::task::spawn_blocking(move || createdb.output())
                .await
                .expect("createdb's thread")
                .expect("createdb runs (Debian's postgresql package ships it)");
            if out.status.success() {
                return self.url_of(&name);
            }
            // Listening is not ready: it may still be starting up.
            assert!(
                started.elapsed() < START_TIMEOUT,
                "createdb {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One `redis-server` for the whole test binary, started on first use and
/// stopped when the binary exits. Tests that share it keep apart by key
/// prefix.
pub fn shared_redis() -> &'static Redis {
    static REDIS: OnceLock<Redis> = OnceLock::new();
    REDIS.get_or_init(Redis::start_shared)
}

/// One PostgreSQL for the whole test binary, started on first use and
/// stopped when the binary exits. Tests that share it keep apart by
/// database ([`Postgres::create_database`]).
pub fn shared_postgres() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(Postgres::start_shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    /// Redis's answer to a PING sent over a fresh connection.
    fn ping(port: u16) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"PING\r\n")?;
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer)?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    #[test]
    fn redis_stops_and_restarts_on_its_port() {
        let mut redis = Redis::start();
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port));
        assert_eq!(ping(redis.port).unwrap(), "+PONG\r\n");
        redis.stop();
        assert!(ping(redis.port).is_err(), "stopped");
        redis.restart();
        assert_eq!(ping(redis.port).unwrap(), "+PONG\r\n");
        let dir = redis.dir.clone();
        drop(redis);
        assert!(!dir.exists(), "its directory is removed");
    }

    #[test]
    fn the_shared_redis_is_one_server() {
        let first = shared_redis();
        assert!(std::ptr::eq(first, shared_redis()));
        assert_eq!(ping(first.port).unwrap(), "+PONG\r\n");
    }

    /// `select current_database()` through the cluster's own psql.
    fn current_database(pg: &Postgres, url: &str) -> String {
        let out = Command::new(pg.bin.join("psql"))
            .args([url, "-tAc", "select current_database()"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[tokio::test]
    async fn postgres_creates_databases_and_keeps_them_across_a_restart() {
        let mut pg = Postgres::start();
        let (a, b) = (pg.create_database().await, pg.create_database().await);
        assert_ne!(a, b);
        let name = a.rsplit('/').next().unwrap().to_owned();
        assert_eq!(a, pg.url_of(&name));
        assert_eq!(current_database(&pg, &a), name);
        pg.stop();
        assert!(
            TcpStream::connect(("127.0.0.1", pg.port)).is_err(),
            "stopped"
        );
        pg.restart();
        // Listening comes before accepting sessions: createdb's retry
        // waits for that, psql would not.
        let c = pg.create_database().await;
        assert_ne!(c, a);
        assert_eq!(current_database(&pg, &a), name, "the data survived");
    }
}
