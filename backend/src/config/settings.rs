//! The checked settings the server runs on, with secrets and store
//! passwords kept out of `Debug`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use acwing_oauth::{AppId, AppSecret};
use url::Url;

use crate::client_ip::TrustedProxies;
use crate::rate::Rate;
use crate::store::redact_url;

#[derive(Debug, Clone)]
pub struct AcwingSettings {
    pub appid: AppId,
    pub secret: AppSecret,
    pub base_url: Url,
}

impl AcwingSettings {
    /// Whether calls to AcWing (which carry the secret) would cross a
    /// network unencrypted: plain http to anything but loopback.
    pub fn in_clear(&self) -> bool {
        let loopback = match self.base_url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        self.base_url.scheme() == "http" && !loopback
    }
}

/// Where `trunk serve` listens (Trunk.toml), for `--dev`.
#[cfg(feature = "demo")]
pub const TRUNK_SERVE_URL: &str = "http://127.0.0.1:8080";

/// Demo mode's settings, kept out of the production `Settings`.
#[cfg(feature = "demo")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSettings {
    /// Where the simulator listens (ACWING_SIMULATOR_BIND).
    pub simulator_bind: SocketAddr,
    /// trunk's autoreload websocket, in the frontend dev loop (`--dev`).
    pub trunk_socket: Option<String>,
}

/// The appid the simulator answers to in demo mode.
#[cfg(feature = "demo")]
pub const DEMO_APPID: &str = "1000";

#[cfg(feature = "demo")]
impl DemoSettings {
    /// The simulator as the server reaches it, with a secret that exists
    /// only in this process. `demo::start_simulator` puts in the address
    /// it actually listens on.
    pub fn acwing(simulator_bind: SocketAddr) -> AcwingSettings {
        AcwingSettings {
            appid: AppId::parse(DEMO_APPID).expect("the demo appid is a valid appid"),
            secret: AppSecret::new(crate::secret::random_hex(16)),
            base_url: Url::parse(&format!("http://{simulator_bind}"))
                .expect("a socket address makes a valid URL"),
        }
    }
}

/// trunk serves its autoreload websocket at this path of the site it serves.
#[cfg(feature = "demo")]
pub fn trunk_socket(public_url: &Url) -> String {
    let scheme = if public_url.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let host = public_url.host_str().unwrap_or("127.0.0.1");
    match public_url.port() {
        Some(port) => format!("{scheme}://{host}:{port}/.well-known/trunk/ws"),
        None => format!("{scheme}://{host}/.well-known/trunk/ws"),
    }
}

/// Everything the server needs to run, checked. `Application::build` takes
/// nothing else.
#[derive(Clone)]
pub struct Settings {
    /// The AcWing the server talks to (in demo mode, the simulator beside
    /// it).
    pub acwing: AcwingSettings,
    pub acwing_timeout: Duration,
    pub bind: SocketAddr,
    /// Without a trailing slash, e.g. `https://app1.acapp.acwing.com.cn`.
    pub public_url: Url,
    pub database_url: String,
    /// Set: states and sessions in this Redis; unset: in this process and
    /// in the SQLite database.
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    /// How long a SIGTERM waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Normalised origins (`scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    pub state_ttl: Duration,
    /// Lifetime of our own access tokens.
    pub access_ttl: Duration,
    pub static_dir: PathBuf,
    pub limits: LimitSettings,
    pub metrics: MetricsSettings,
}

/// Where `/metrics` is served: nowhere by default, since the app's port is
/// public and the metrics are for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// A listener of its own, serving only `/metrics`.
    pub bind: Option<SocketAddr>,
    /// `/metrics` on the app's port as well.
    pub on_app_port: bool,
}

/// By hand, to keep passwords in the store URLs out of every log.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("acwing", &self.acwing)
            .field("acwing_timeout", &self.acwing_timeout)
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("database_url", &redact_url(&self.database_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("allowed_origins", &self.allowed_origins)
            .field("state_ttl", &self.state_ttl)
            .field("access_ttl", &self.access_ttl)
            .field("static_dir", &self.static_dir)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// Which database holds the players.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// What one client may ask of the unauthenticated login endpoints, and how
/// many login states the server holds (see docs/security.md, "Hardening").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    pub trusted_proxies: TrustedProxies,
    pub apply_code: Rate,
    pub receive_code: Rate,
    pub state_cap: usize,
    /// The session routes, per client address.
    pub getinfo: Rate,
    pub refresh: Rate,
    pub logout: Rate,
    /// Refreshes of one session, wherever they come from.
    pub refresh_per_session: Rate,
    /// Connections one client address may hold open.
    pub connections_per_client: usize,
}

impl Default for LimitSettings {
    /// A classroom behind one NAT logs in together (a burst of 150, then
    /// 300 a minute, each login being one apply_code and one
    /// receive_code); a flood of thousands a second is cut off.
    fn default() -> Self {
        Self {
            trusted_proxies: TrustedProxies::default(),
            apply_code: Rate::of(300, 150),
            receive_code: Rate::of(300, 150),
            state_cap: 100_000,
            // A player's page load asks getinfo once; the AcApp refreshes
            // every few minutes and logs out once. A classroom of 150 behind
            // one NAT doing all of it at once stays within each burst.
            getinfo: Rate::of(600, 300),
            refresh: Rate::of(300, 150),
            logout: Rate::of(120, 60),
            // One session refreshes every few minutes (its access token
            // lives 15); a burst of 10 covers a reconnecting tab's retries.
            refresh_per_session: Rate::of(6, 10),
            // Browsers open about six connections to a site: 1,024 leaves
            // room for a school or a café of a hundred and fifty busy
            // players behind one NAT, and for a thousand requests in flight
            // from one load generator. The server raises its open-file
            // limit at start (see `main`), so one address holds a small
            // share of it.
            connections_per_client: 1024,
        }
    }
}

impl LimitSettings {
    /// The per-client rates, for `RateLimits`.
    pub fn client_rates(&self) -> ClientRates {
        ClientRates {
            apply_code: self.apply_code,
            receive_code: self.receive_code,
            getinfo: self.getinfo,
            refresh: self.refresh,
            logout: self.logout,
        }
    }
}

/// Each endpoint's rate, per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRates {
    pub apply_code: Rate,
    pub receive_code: Rate,
    pub getinfo: Rate,
    pub refresh: Rate,
    pub logout: Rate,
}

/// `public_url` with `path` appended, `path` starting with `/`.
pub fn public_endpoint(public_url: &Url, path: &str) -> String {
    format!("{}{}", public_url.as_str().trim_end_matches('/'), path)
}
