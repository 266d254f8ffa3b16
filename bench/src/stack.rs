//! The system under test: the release server and the simulator, each in its
//! own process, so that `/proc` accounts each one's CPU on its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::ports::free_port;
use testkit::process::{server_command, AcwingApp, ServerProcess, SimulatorProcess};

pub const APPID: &str = "1000";
/// How long the server may take to answer `/healthz`.
const READY_WITHIN: Duration = Duration::from_secs(20);

pub struct Stack {
    pub backend_url: String,
    pub sim_url: String,
    backend: ServerProcess,
    sim: SimulatorProcess,
    dir: PathBuf,
}

pub struct Binaries<'a> {
    pub backend: &'a Path,
    pub sim: &'a Path,
    pub dist: &'a Path,
}

impl Stack {
    pub async fn start(bins: &Binaries<'_>) -> Result<Stack, String> {
        let dir = std::env::temp_dir().join(format!("acapp-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let secret = backend::secret::random_hex(16);

        let mut sim = Command::new(bins.sim);
        sim.args(["--bind", "127.0.0.1:0", "--appid", APPID, "--workers", "1"])
            .args(["--any-user", "--control"])
            .env("ACWING_SIM_SECRET", &secret)
            .stderr(Stdio::null());
        let sim = SimulatorProcess::spawn(sim).map_err(|e| e.to_string())?;
        let sim_url = sim.url.clone();

        let port = free_port();
        let log = dir.join("backend.log");
        let mut backend = server_command(
            bins.backend,
            port,
            &dir.join("bench.db"),
            &AcwingApp {
                appid: APPID,
                secret: &secret,
                base_url: &sim_url,
            },
        );
        backend
            .env("ACAPP_STATIC_DIR", bins.dist)
            // Every request comes from 127.0.0.1: the per-client limits
            // would measure the rate limiter, not a login.
            .env("ACAPP_APPLY_CODE_PER_MINUTE", "1000000000")
            .env("ACAPP_APPLY_CODE_BURST", "1000000000")
            .env("ACAPP_RECEIVE_CODE_PER_MINUTE", "1000000000")
            .env("ACAPP_RECEIVE_CODE_BURST", "1000000000")
            .env("ACAPP_STATE_CAP", "10000000")
            // The generator is one address with up to 1,000 logins in
            // flight: the per-address connection cap is for floods.
            .env("ACAPP_CONNECTIONS_PER_CLIENT", "1000000")
            // `--only` prints the SQLite writer's metrics.
            .env("ACAPP_METRICS_ON_APP_PORT", "true")
            // The simulated AcApp window loads our module from its origin.
            .env(
                "ACAPP_ALLOWED_ORIGINS",
                format!("https://www.acwing.com,{sim_url}"),
            )
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?);
        // The server logs to stdout; both go to the log.
        let log_file = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .map_err(|e| e.to_string())?;
        backend.stdout(log_file);
        let mut backend = ServerProcess::spawn(backend, port).map_err(|e| e.to_string())?;
        if let Err(e) = backend.until_healthy(READY_WITHIN).await {
            return Err(format!("{e}; see {}", log.display()));
        }
        Ok(Stack {
            backend_url: backend.address.clone(),
            sim_url,
            backend,
            sim,
            dir,
        })
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
        cpu_seconds(self.backend.child.id())
    }

    pub fn sim_cpu(&self) -> f64 {
        cpu_seconds(self.sim.child.id())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Before the folder goes: the server writes its database there.
        self.backend.kill();
        self.sim.kill();
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
