//! The real `acapp-server` binary in a process of its own, for what only a
//! process shows: SIGKILL, SIGTERM, a restart on the same database.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acwing_sim::{SimConfig, SimUser, Simulator};

use super::APPID;

/// A simulator that knows the demo users and `count` more, whose openids
/// are `openid-{prefix}{i}` and usernames `{prefix}{i}`.
pub fn simulator_with_players(secret: &str, prefix: &str, count: usize) -> Simulator {
    let mut users = SimConfig::demo_users();
    users.extend((0..count).map(|i| SimUser {
        openid: format!("openid-{prefix}{i}"),
        username: format!("{prefix}{i}"),
        photo: String::new(),
    }));
    Simulator::start(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: APPID.into(),
            secret: secret.to_owned(),
            users,
            app_public_url: None,
        },
    )
    .unwrap()
}

/// The server binary, configured for `acwing` and a SQLite file `db`, and
/// quiet; the caller adds what its test needs and spawns it.
pub fn server_command(port: u16, db: &Path, acwing: &Simulator, secret: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acapp-server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ACWING_APPID", APPID)
        .env("ACWING_SECRET", secret)
        .env("ACWING_BASE_URL", acwing.base_url())
        .env("ACAPP_BIND", format!("127.0.0.1:{port}"))
        .env("ACAPP_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env(
            "ACAPP_STATIC_DIR",
            std::env::temp_dir().join("acapp-no-dist"),
        )
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A running server process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub address: String,
}

impl ServerProcess {
    pub fn spawn(mut command: Command, port: u16) -> ServerProcess {
        ServerProcess {
            child: command.spawn().expect("the server binary starts"),
            address: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Polls /healthz; how long the server took to answer.
    pub async fn until_healthy(&mut self) -> Duration {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            let answer = client
                .get(format!("{}/healthz", self.address))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if matches!(answer, Ok(r) if r.status().is_success()) {
                return started.elapsed();
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the server exited"
            );
            assert!(started.elapsed() < Duration::from_secs(60), "never healthy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl ServerProcess {
    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// A fresh AcApp state from apply_code.
    pub async fn acapp_state(&self, client: &reqwest::Client) -> String {
        let apply: serde_json::Value = client
            .get(format!(
                "{}/settings/acwing/acapp/apply_code/",
                self.address
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        apply["state"].as_str().unwrap().to_owned()
    }

    /// AcWing's call to the AcApp redirect_uri: its JSON, or what went
    /// wrong instead, as a string.
    pub async fn acapp_callback(
        &self,
        client: &reqwest::Client,
        code: &str,
        state: &str,
    ) -> serde_json::Value {
        let response = client
            .get(format!(
                "{}/settings/acwing/acapp/receive_code/",
                self.address
            ))
            .query(&[("code", code), ("state", state)])
            .send()
            .await;
        match response {
            Ok(r) => r.json().await.unwrap_or(serde_json::Value::Null),
            Err(e) => serde_json::Value::String(format!("no answer: {e}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
