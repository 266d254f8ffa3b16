//! The system under test: the release server and the simulator, each in its
//! own process, so that `/proc` accounts each one's CPU on its own.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const APPID: &str = "1000";

pub struct Stack {
    pub backend_url: String,
    pub sim_url: String,
    backend: Child,
    sim: Child,
    dir: PathBuf,
}

pub struct Binaries<'a> {
    pub backend: &'a Path,
    pub sim: &'a Path,
    pub dist: &'a Path,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Stack {
    pub async fn start(bins: &Binaries<'_>) -> Result<Stack, String> {
        let dir = std::env::temp_dir().join(format!("acapp-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let secret = backend::secret::random_hex(16);

        let mut sim = Command::new(bins.sim)
            .args(["--bind", "127.0.0.1:0", "--appid", APPID, "--workers", "1"])
            .args(["--any-user", "--control"])
            .env("ACWING_SIM_SECRET", &secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bins.sim.display()))?;
        let mut first = String::new();
        let stdout = sim.stdout.take().ok_or("the simulator has no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|e| e.to_string())?;
        let sim_url = first
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the simulator said {first:?}"))?
            .to_owned();

        let port = free_port().map_err(|e| e.to_string())?;
        let backend_url = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("backend.log")).map_err(|e| e.to_string())?;
        let backend = Command::new(bins.backend)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ACWING_APPID", APPID)
            .env("ACWING_SECRET", &secret)
            .env("ACWING_BASE_URL", &sim_url)
            .env("ACAPP_BIND", format!("127.0.0.1:{port}"))
            .env(
                "ACAPP_DATABASE_URL",
                format!("sqlite://{}", dir.join("bench.db").display()),
            )
            .env("ACAPP_STATIC_DIR", bins.dist)
            // Every request comes from 127.0.0.1: the per-client limits
            // would measure the rate limiter, not a login.
            .env("ACAPP_APPLY_CODE_PER_MINUTE", "1000000000")
            .env("ACAPP_APPLY_CODE_BURST", "1000000000")
            .env("ACAPP_RECEIVE_CODE_PER_MINUTE", "1000000000")
            .env("ACAPP_RECEIVE_CODE_BURST", "1000000000")
            .env("ACAPP_STATE_CAP", "10000000")
            // The simulated AcApp window loads our module from its origin.
            .env(
                "ACAPP_ALLOWED_ORIGINS",
                format!("https://www.acwing.com,{sim_url}"),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bins.backend.display()))?;
        let stack = Stack {
            backend_url,
            sim_url,
            backend,
            sim,
            dir,
        };
        stack.wait_ready().await?;
        Ok(stack)
    }

    async fn wait_ready(&self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let health = client
                .get(format!("{}/healthz", self.backend_url))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "the backend did not answer /healthz within 20 s; see {}",
            self.dir.join("backend.log").display()
        ))
    }

    pub async fn set_latency(&self, ms: u64) -> Result<(), String> {
        let response = reqwest::Client::new()
            .post(format!("{}/_sim/control/latency/{ms}", self.sim_url))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the simulator refused latency {ms}"))
        }
    }

    pub fn backend_cpu(&self) -> f64 {
        cpu_seconds(self.backend.id())
    }

    pub fn sim_cpu(&self) -> f64 {
        cpu_seconds(self.sim.id())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for child in [&mut self.backend, &mut self.sim] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// User plus system CPU time of a process, in seconds, from `/proc`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // The command name may hold spaces: fields start after its ')'.
    let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / clock_ticks(),
        _ => f64::NAN,
    }
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux this runs on; getconf would say so too.
    100.0
}

/// This process's own CPU seconds: the load generator's cost.
pub fn own_cpu() -> f64 {
    cpu_seconds(std::process::id())
}
