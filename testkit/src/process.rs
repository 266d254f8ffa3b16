//! The `acapp-server` binary and the simulator's binary, each in a process
//! of its own: for what only a process shows (SIGTERM, SIGKILL, a restart
//! on the same database), and for the load generator, which accounts each
//! process's CPU on its own.
//!
//! A test finds the server's binary with `env!("CARGO_BIN_EXE_acapp-server")`
//! (only the backend's own tests can) and the load generator is told where
//! it is, so every function here takes the binary's path.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What can go wrong starting or stopping one of these processes.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The binary could not be started at all.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program as the command names it.
        program: String,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// The process ended before it was ready.
    #[error("{what} exited ({status}) before it was ready")]
    Exited {
        /// Which process: the server or the simulator.
        what: &'static str,
        /// How it ended.
        status: ExitStatus,
    },
    /// The server kept running but never answered `/healthz` with a 2xx.
    #[error("the server did not answer /healthz within {0:?}")]
    NotHealthy(Duration),
    /// The simulator's first line was not `listening on <url>`.
    #[error("the simulator said {0:?}, not where it listens")]
    NoAddress(String),
    /// Reading from or waiting on the process failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS's error.
        source: std::io::Error,
    },
    /// `kill` could not deliver a signal.
    #[error("kill -{signal} {pid} failed ({status})")]
    Signal {
        /// The signal's name, as `kill` takes it.
        signal: &'static str,
        /// The process it was meant for.
        pid: u32,
        /// How `kill` ended.
        status: ExitStatus,
    },
}

/// The AcWing application the server logs in as: the simulator's appid and
/// secret, and where the simulator listens.
#[derive(Debug, Clone, Copy)]
pub struct AcwingApp<'a> {
    /// `ACWING_APPID`.
    pub appid: &'a str,
    /// `ACWING_SECRET`.
    pub secret: &'a str,
    /// `ACWING_BASE_URL`: the simulator's base URL.
    pub base_url: &'a str,
}

/// The server `binary` listening on 127.0.0.1:`port`, logging in through
/// `acwing`, with its players and sessions in the SQLite file `database`,
/// and no built frontend (`/` serves the fallback page).
///
/// The environment is cleared (`PATH` aside), so that nothing of the
/// caller's `ACAPP_*` or `RUST_LOG` leaks in, and stdout and stderr go
/// nowhere. The caller adds what its run needs (`.env(...)`, a log file as
/// stderr: a later call wins) and hands it to [`ServerProcess::spawn`].
pub fn server_command(
    binary: &Path,
    port: u16,
    database: &Path,
    acwing: &AcwingApp<'_>,
) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ACWING_APPID", acwing.appid)
        .env("ACWING_SECRET", acwing.secret)
        .env("ACWING_BASE_URL", acwing.base_url)
        .env("ACAPP_BIND", format!("127.0.0.1:{port}"))
        .env(
            "ACAPP_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env(
            "ACAPP_STATIC_DIR",
            std::env::temp_dir().join("acapp-no-dist"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A running server process, killed when dropped (so when a test panics).
pub struct ServerProcess {
    /// The process, for its id, `try_wait` and its exit status.
    pub child: Child,
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub address: String,
}

impl ServerProcess {
    /// Starts `command` (from [`server_command`]), which listens on `port`.
    /// It returns at once; [`ServerProcess::until_healthy`] waits for it.
    pub fn spawn(mut command: Command, port: u16) -> Result<ServerProcess, ProcessError> {
        let child = command.spawn().map_err(|source| ProcessError::Spawn {
            program: command.get_program().to_string_lossy().into_owned(),
            source,
        })?;
        Ok(ServerProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Polls `/healthz` until it answers 2xx; how long that took. Fails at
    /// once if the process exits, and after `within` if it never answers.
    pub async fn until_healthy(&mut self, within: Duration) -> Result<Duration, ProcessError> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", self.address);
        loop {
            let answer = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if matches!(answer, Ok(r) if r.status().is_success()) {
                return Ok(started.elapsed());
            }
            let exited = self.child.try_wait().map_err(|source| ProcessError::Io {
                what: "waiting on the server",
                source,
            })?;
            if let Some(status) = exited {
                return Err(ProcessError::Exited {
                    what: "the server",
                    status,
                });
            }
            if started.elapsed() >= within {
                return Err(ProcessError::NotHealthy(within));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM, as systemd does to stop it; returns once sent, not
    /// once the server has exited.
    pub fn sigterm(&self) -> Result<(), ProcessError> {
        signal(&self.child, "TERM")
    }

    /// Kills it (SIGKILL) and waits for it; nothing if it has exited.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The simulator's binary (`acwing-sim`) running, killed when dropped.
pub struct SimulatorProcess {
    /// The process, for its id.
    pub child: Child,
    /// Where it listens, as it said: `http://127.0.0.1:<port>`.
    pub url: String,
}

impl SimulatorProcess {
    /// Starts `command`, the simulator with its options (`--bind
    /// 127.0.0.1:0` lets it pick a port), and waits for its first line,
    /// `listening on <url>`. Its stdout is taken for that line and closed
    /// after it; its stderr is left as the command has it.
    pub fn spawn(mut command: Command) -> Result<SimulatorProcess, ProcessError> {
        let child =
            command
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|source| ProcessError::Spawn {
                    program: command.get_program().to_string_lossy().into_owned(),
                    source,
                })?;
        // Killed on drop from here on, so also on every error below.
        let mut process = SimulatorProcess {
            child,
            url: String::new(),
        };
        let stdout = process.child.stdout.take().expect("stdout is piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|source| ProcessError::Io {
                what: "reading the simulator's first line",
                source,
            })?;
        match first.trim().strip_prefix("listening on ") {
            Some(url) => {
                process.url = url.to_owned();
                Ok(process)
            }
            None => match process.child.try_wait() {
                Ok(Some(status)) => Err(ProcessError::Exited {
                    what: "the simulator",
                    status,
                }),
                _ => Err(ProcessError::NoAddress(first)),
            },
        }
    }

    /// Kills it (SIGKILL) and waits for it; nothing if it has exited.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Through the `kill` command: the workspace forbids the unsafe code a
/// direct `kill(2)` would take.
fn signal(child: &Child, signal: &'static str) -> Result<(), ProcessError> {
    let pid = child.id();
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .map_err(|source| ProcessError::Spawn {
            program: "kill".into(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ProcessError::Signal {
            signal,
            pid,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};

    fn sleeper() -> Command {
        let mut command = Command::new("sleep");
        command.arg("30");
        command
    }

    /// A `/healthz` that answers 200 to every connection, standing in for
    /// the server the process would be.
    fn healthy_listener() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut socket in listener.incoming().flatten() {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request);
                let _ = socket.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            }
        });
        port
    }

    #[tokio::test]
    async fn a_server_that_answers_healthz_is_healthy() {
        let port = healthy_listener();
        let mut server = ServerProcess::spawn(sleeper(), port).unwrap();
        server.until_healthy(Duration::from_secs(10)).await.unwrap();
        server.sigterm().unwrap();
        let status = server.child.wait().unwrap();
        assert!(!status.success(), "ended by the signal");
    }

    #[tokio::test]
    async fn a_server_that_exits_is_reported_at_once() {
        let port = crate::ports::free_port();
        let mut server = ServerProcess::spawn(Command::new("false"), port).unwrap();
        let started = Instant::now();
        let error = server
            .until_healthy(Duration::from_secs(30))
            .await
            .unwrap_err();
        assert!(matches!(error, ProcessError::Exited { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let port = crate::ports::free_port();
        let mut server = ServerProcess::spawn(sleeper(), port).unwrap();
        let error = server
            .until_healthy(Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(error, ProcessError::NotHealthy(_)), "{error}");
    }

    #[test]
    fn a_missing_binary_is_named() {
        let error = ServerProcess::spawn(Command::new("/nonexistent/acapp-server"), 1)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("/nonexistent/acapp-server"),
            "{error}"
        );
    }

    #[test]
    fn the_simulator_says_where_it_listens() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo listening on http://127.0.0.1:9; exec sleep 30"]);
        let sim = SimulatorProcess::spawn(command).unwrap();
        assert_eq!(sim.url, "http://127.0.0.1:9");
    }

    #[test]
    fn a_simulator_that_says_something_else_is_an_error() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo usage: acwing-sim; exec sleep 30"]);
        let error = SimulatorProcess::spawn(command).err().unwrap();
        assert!(matches!(error, ProcessError::NoAddress(_)), "{error}");
    }
}
