//! Settings from flags and environment variables, validated into types.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use acwing_oauth::{AppId, AppSecret};
use clap::Parser;
use url::Url;

use crate::http::client_ip::TrustedProxies;
use crate::http::rate_limit::{ClientRates, Rate};

/// The seed keeps a state for 2 h; ours may not live longer.
const MAX_STATE_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// Bounds of our own access tokens' lifetime (tests shorten it).
const ACCESS_TTL_BOUNDS: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(3600));

#[derive(Debug, Parser)]
#[command(
    name = "acapp-server",
    about = "AcWing one-click login for an AcApp. Needs ACWING_APPID and ACWING_SECRET (or ACWING_SECRET_FILE), or --demo for a built-in AcWing simulator."
)]
pub struct Cli {
    /// The AcApp's appid. Set together with ACWING_SECRET to use real AcWing.
    #[arg(long, env = "ACWING_APPID")]
    pub appid: Option<String>,
    /// The AcApp's secret. Prefer ACWING_SECRET_FILE: a flag shows in `ps`.
    #[arg(long, env = "ACWING_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub secret: Option<AppSecret>,
    /// A file holding the AcApp's secret (a mounted container secret).
    #[arg(long, env = "ACWING_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
    /// Run against the built-in AcWing simulator, with no credentials.
    /// The variable takes 1/0, true/false, yes/no or on/off.
    #[arg(long, env = "ACAPP_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// The frontend dev loop: demo mode behind `trunk serve`. The public URL
    /// defaults to trunk's http://127.0.0.1:8080, so both logins come back
    /// through trunk, and the simulated AcApp window reloads when trunk rebuilds.
    #[arg(long, env = "ACAPP_DEV", value_parser = clap::builder::BoolishValueParser::new())]
    pub dev: bool,
    /// AcWing's root; every AcWing URL is derived from it [default: https://www.acwing.com].
    #[arg(long, env = "ACWING_BASE_URL")]
    pub acwing_base_url: Option<String>,
    /// Total time allowed for one call to AcWing, in seconds (or like 500ms, 10s).
    #[arg(long, env = "ACWING_TIMEOUT", default_value = "10", value_parser = parse_duration)]
    pub acwing_timeout: Duration,
    /// The listen address.
    #[arg(long, env = "ACAPP_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// The origin players reach [default: http://<bind>].
    #[arg(long, env = "ACAPP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB: the players, and the
    /// sessions unless ACAPP_REDIS_URL is set [default: sqlite://data/acapp.db].
    #[arg(long, env = "ACAPP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// redis://[:PASSWORD@]HOST[:PORT][/DB]: login states and sessions live
    /// there, shared by every instance [default: in this process].
    #[arg(long, env = "ACAPP_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several apps can share one Redis.
    #[arg(long, env = "ACAPP_REDIS_PREFIX", default_value = "acapp:")]
    pub redis_prefix: String,
    /// How long SIGTERM waits for requests in flight, in seconds.
    #[arg(long, env = "ACAPP_SHUTDOWN_TIMEOUT", default_value = "30", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// CORS allowlist, comma-separated origins. ACWING_BASE_URL's origin
    /// and ACAPP_PUBLIC_URL's are always allowed as well.
    #[arg(
        long,
        env = "ACAPP_ALLOWED_ORIGINS",
        default_value = "https://www.acwing.com"
    )]
    pub allowed_origins: String,
    /// Lifetime of a login `state`, in seconds (or like 90s, 10m); at most 2 h.
    #[arg(long, env = "ACAPP_STATE_TTL", default_value = "600", value_parser = parse_duration)]
    pub state_ttl: Duration,
    /// Lifetime of our own access tokens (for tests; 5 s to 1 h).
    #[arg(long, env = "ACAPP_ACCESS_TTL", default_value = "900", value_parser = parse_duration, hide = true)]
    pub access_ttl: Duration,
    /// Where demo mode's AcWing simulator listens.
    #[arg(long, env = "ACWING_SIMULATOR_BIND", default_value = "127.0.0.1:8001")]
    pub simulator_bind: SocketAddr,
    /// The built frontend (`cargo xtask run` builds it here).
    #[arg(long, env = "ACAPP_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// Proxies (comma-separated CIDRs or addresses) whose X-Forwarded-For is
    /// believed; empty: the peer address is the client.
    #[arg(long, env = "ACAPP_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// apply_code requests per minute from one client address (both flows).
    #[arg(long, env = "ACAPP_APPLY_CODE_PER_MINUTE", default_value = "300")]
    pub apply_code_per_minute: NonZeroU32,
    /// apply_code requests one client address may make at once.
    #[arg(long, env = "ACAPP_APPLY_CODE_BURST", default_value = "150")]
    pub apply_code_burst: NonZeroU32,
    /// receive_code requests per minute from one client address (both flows).
    #[arg(long, env = "ACAPP_RECEIVE_CODE_PER_MINUTE", default_value = "300")]
    pub receive_code_per_minute: NonZeroU32,
    /// receive_code requests one client address may make at once.
    #[arg(long, env = "ACAPP_RECEIVE_CODE_BURST", default_value = "150")]
    pub receive_code_burst: NonZeroU32,
    /// Login states held at most; past it the oldest is evicted.
    #[arg(long, env = "ACAPP_STATE_CAP", default_value = "100000", value_parser = clap::value_parser!(u32).range(100..=10_000_000))]
    pub state_cap: u32,
    /// getinfo requests per minute from one client address.
    #[arg(long, env = "ACAPP_GETINFO_PER_MINUTE", default_value = "600")]
    pub getinfo_per_minute: NonZeroU32,
    /// getinfo requests one client address may make at once.
    #[arg(long, env = "ACAPP_GETINFO_BURST", default_value = "300")]
    pub getinfo_burst: NonZeroU32,
    /// Token refreshes per minute from one client address.
    #[arg(long, env = "ACAPP_REFRESH_PER_MINUTE", default_value = "300")]
    pub refresh_per_minute: NonZeroU32,
    /// Token refreshes one client address may make at once.
    #[arg(long, env = "ACAPP_REFRESH_BURST", default_value = "150")]
    pub refresh_burst: NonZeroU32,
    /// Logouts per minute from one client address.
    #[arg(long, env = "ACAPP_LOGOUT_PER_MINUTE", default_value = "120")]
    pub logout_per_minute: NonZeroU32,
    /// Logouts one client address may make at once.
    #[arg(long, env = "ACAPP_LOGOUT_BURST", default_value = "60")]
    pub logout_burst: NonZeroU32,
    /// Refreshes per minute of one session (one chain of refresh tokens).
    #[arg(
        long,
        env = "ACAPP_REFRESH_PER_SESSION_PER_MINUTE",
        default_value = "6"
    )]
    pub refresh_per_session_per_minute: NonZeroU32,
    /// Refreshes one session may make at once.
    #[arg(long, env = "ACAPP_REFRESH_PER_SESSION_BURST", default_value = "10")]
    pub refresh_per_session_burst: NonZeroU32,
    /// Open connections one client address may hold (trusted proxies are
    /// not counted: they carry many clients).
    #[arg(long, env = "ACAPP_CONNECTIONS_PER_CLIENT", default_value = "1024", value_parser = clap::value_parser!(u32).range(1..))]
    pub connections_per_client: u32,
    /// Serve `/metrics` on its own listener at this address (for example
    /// 127.0.0.1:9100) [default: no metrics listener].
    #[arg(long, env = "ACAPP_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Also serve `/metrics` on the app's own port, which players reach.
    /// The variable takes 1/0, true/false, yes/no or on/off.
    #[arg(long, env = "ACAPP_METRICS_ON_APP_PORT", value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics_on_app_port: bool,
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 600, 90s, 10m or 1h"))?;
    let scaled = |factor: u64| {
        n.checked_mul(factor)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{raw}` is too long"))
    };
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => scaled(60)?,
        "h" => scaled(3600)?,
        _ => return Err(format!("`{raw}` has an unknown unit; use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("a duration must be greater than zero".into());
    }
    Ok(duration)
}

fn parse_secret(raw: &str) -> Result<AppSecret, String> {
    Ok(AppSecret::new(raw))
}

/// How we reach AcWing: for real, or (in a build with the `demo` feature)
/// through the built-in simulator.
#[derive(Debug, Clone)]
pub enum AcwingMode {
    Real(AcwingSettings),
    #[cfg(feature = "demo")]
    Demo(DemoSettings),
}

impl AcwingMode {
    /// Real AcWing's settings, or none in demo mode.
    pub fn real(&self) -> Option<&AcwingSettings> {
        match self {
            Self::Real(real) => Some(real),
            #[cfg(feature = "demo")]
            Self::Demo(_) => None,
        }
    }

    /// The frontend dev loop (`--dev`): the server sits behind `trunk serve`.
    pub fn behind_trunk(&self) -> bool {
        match self {
            Self::Real(_) => false,
            #[cfg(feature = "demo")]
            Self::Demo(demo) => demo.trunk_socket.is_some(),
        }
    }
}

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

#[derive(Clone)]
pub struct Settings {
    pub acwing: AcwingMode,
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

/// The URL with its password (and user name) replaced, for logs and
/// error messages.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() || !url.username().is_empty() => {
            let _ = url.set_password(None);
            let _ = url.set_username("");
            let bare = url.to_string();
            let scheme = url.scheme();
            // Written by hand: `Url` would percent-encode the brackets.
            match bare.strip_prefix(&format!("{scheme}://")) {
                Some(rest) => format!("{scheme}://<redacted>@{rest}"),
                None => "<unparsable URL>".to_owned(),
            }
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

/// The `sslmode` of a PostgreSQL URL when it demands TLS (`require`,
/// `verify-ca`, `verify-full`), which sqlx built without a TLS feature
/// cannot do; `disable`, `allow` and `prefer` work over plain TCP.
fn postgres_tls_mode(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .filter(|(key, _)| key == "sslmode" || key == "ssl-mode")
        .map(|(_, mode)| mode.to_ascii_lowercase())
        .find(|mode| matches!(mode.as_str(), "require" | "verify-ca" | "verify-full"))
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
        const fn rate(per_minute: u32, burst: u32) -> Rate {
            match (NonZeroU32::new(per_minute), NonZeroU32::new(burst)) {
                (Some(per_minute), Some(burst)) => Rate::new(per_minute, burst),
                _ => panic!("a rate is never zero"),
            }
        }
        Self {
            trusted_proxies: TrustedProxies::default(),
            apply_code: rate(300, 150),
            receive_code: rate(300, 150),
            state_cap: 100_000,
            // A player's page load asks getinfo once; the AcApp refreshes
            // every few minutes and logs out once. A classroom of 150 behind
            // one NAT doing all of it at once stays within each burst.
            getinfo: rate(600, 300),
            refresh: rate(300, 150),
            logout: rate(120, 60),
            // One session refreshes every few minutes (its access token
            // lives 15); a burst of 10 covers a reconnecting tab's retries.
            refresh_per_session: rate(6, 10),
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

    /// Live states one network may hold, at each level: a fiftieth of the
    /// cap per IPv4 address or IPv6 /64, so it takes fifty addresses at full
    /// tilt to fill the store, and a twentieth per /56 and a tenth per /48,
    /// so one IPv6 network holds a bounded share however many /64s it uses
    /// (see `StateShares`).
    pub fn state_shares(&self) -> crate::login::state::StateShares {
        crate::login::state::StateShares::of_cap(self.state_cap)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("no AcWing credentials: set ACWING_APPID and ACWING_SECRET (or ACWING_SECRET_FILE) to use AcWing, or ask for demo mode with --demo or ACAPP_DEMO=1")]
    NoCredentials,
    #[error("ACWING_APPID and ACWING_SECRET (or ACWING_SECRET_FILE) must be set together, or ask for demo mode with --demo or ACAPP_DEMO=1")]
    HalfCredentials,
    #[error("ACWING_SECRET and ACWING_SECRET_FILE are both set; keep one (the file is preferred)")]
    TwoSecrets,
    #[error("cannot read ACWING_SECRET_FILE {path}: {reason}")]
    SecretFile { path: String, reason: String },
    #[error("demo mode (--demo, ACAPP_DEMO) uses the built-in simulator: unset ACWING_APPID, ACWING_SECRET and ACWING_SECRET_FILE, or drop --demo")]
    DemoWithCredentials,
    #[error("ACWING_APPID: {0}")]
    BadAppid(acwing_oauth::ParseError),
    #[error("{name} `{value}` is not an absolute http(s) URL")]
    BadUrl { name: &'static str, value: String },
    #[error("ACAPP_PUBLIC_URL `{0}` must be an origin like https://app1234.acapp.acwing.com.cn, with no path")]
    PublicUrlWithPath(String),
    #[error("ACAPP_ACCESS_TTL must be between 5 s and 1 h")]
    AccessTtlOutOfRange,
    #[error("ACAPP_ALLOWED_ORIGINS entry `{0}` is not an origin like https://www.acwing.com")]
    BadOrigin(String),
    #[error("ACAPP_STATE_TTL may be at most 2h (7200 s), as in AcWing's docs")]
    StateTtlTooLong,
    #[error("ACAPP_DATABASE_URL `{0}` is not supported; use sqlite://PATH or postgres://…")]
    BadDatabaseUrl(String),
    #[error("ACAPP_REDIS_URL `{0}` is not a redis:// URL")]
    BadRedisUrl(String),
    #[error("ACAPP_REDIS_URL `{0}` asks for TLS (rediss://), which this build cannot speak; use redis:// on a private network, or a TLS tunnel (such as stunnel) to Redis")]
    RedisTlsUnsupported(String),
    #[error("ACAPP_DATABASE_URL `{0}` asks for TLS (sslmode={1}), which this build cannot speak; use sslmode=disable or prefer (or none) on a private network, or a TLS tunnel to PostgreSQL")]
    PostgresTlsUnsupported(String, String),
    #[error("ACWING_APPID and ACWING_SECRET (or ACWING_SECRET_FILE's contents) must not be empty; set both, or ask for demo mode with --demo or ACAPP_DEMO=1")]
    EmptyCredentials,
    #[error("ACAPP_TRUSTED_PROXIES: {0}")]
    BadTrustedProxy(String),
    #[error("this build has no demo mode (--demo, --dev, ACAPP_DEMO, ACAPP_DEV): use `cargo xtask run` (or `cargo xtask serve`), or build the server with `--features demo`")]
    NoDemoMode,
}

impl Cli {
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let secret = match (self.secret, &self.secret_file) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(secret), None) => Some(secret),
            (None, Some(path)) => Some(read_secret_file(path)?),
            (None, None) => None,
        };
        let wants_demo = self.demo || self.dev;
        #[cfg(not(feature = "demo"))]
        if wants_demo {
            return Err(ConfigError::NoDemoMode);
        }
        #[cfg(feature = "demo")]
        let default_public_url = match self.dev {
            true => TRUNK_SERVE_URL.to_owned(),
            false => format!("http://{}", self.bind),
        };
        #[cfg(not(feature = "demo"))]
        let default_public_url = format!("http://{}", self.bind);
        let public_url = http_url(
            "ACAPP_PUBLIC_URL",
            self.public_url.as_deref().unwrap_or(&default_public_url),
        )?;
        let acwing = match (wants_demo, self.appid, secret) {
            // ACWING_BASE_URL alone means nothing to the built-in simulator,
            // and does no harm: only credentials make demo mode ambiguous.
            #[cfg(feature = "demo")]
            (true, None, None) => AcwingMode::Demo(DemoSettings {
                simulator_bind: self.simulator_bind,
                trunk_socket: self.dev.then(|| trunk_socket(&public_url)),
            }),
            (true, ..) => return Err(ConfigError::DemoWithCredentials),
            (false, Some(appid), Some(secret)) => {
                if appid.trim().is_empty() || secret.expose().is_empty() {
                    return Err(ConfigError::EmptyCredentials);
                }
                let raw = self
                    .acwing_base_url
                    .unwrap_or_else(|| "https://www.acwing.com".into());
                AcwingMode::Real(AcwingSettings {
                    appid: AppId::parse(&appid).map_err(ConfigError::BadAppid)?,
                    secret,
                    base_url: http_url("ACWING_BASE_URL", &raw)?,
                })
            }
            (false, None, None) => return Err(ConfigError::NoCredentials),
            (false, ..) => return Err(ConfigError::HalfCredentials),
        };
        // Routes, `Location: /` and cookie paths all assume the site root.
        if public_url.path() != "/" {
            return Err(ConfigError::PublicUrlWithPath(public_url.to_string()));
        }
        let (min_access, max_access) = ACCESS_TTL_BOUNDS;
        if !(min_access..=max_access).contains(&self.access_ttl) {
            return Err(ConfigError::AccessTtlOutOfRange);
        }
        if self.state_ttl > MAX_STATE_TTL {
            return Err(ConfigError::StateTtlTooLong);
        }
        let database_url = self
            .database_url
            .unwrap_or_else(|| "sqlite://data/acapp.db".into());
        match DatabaseKind::of(&database_url) {
            None => return Err(ConfigError::BadDatabaseUrl(redact_url(&database_url))),
            Some(DatabaseKind::Postgres) => {
                if let Some(mode) = postgres_tls_mode(&database_url) {
                    return Err(ConfigError::PostgresTlsUnsupported(
                        redact_url(&database_url),
                        mode,
                    ));
                }
            }
            Some(DatabaseKind::Sqlite) => {}
        }
        let redis_url = self.redis_url.filter(|u| !u.trim().is_empty());
        if let Some(url) = &redis_url {
            match Url::parse(url).map(|u| u.scheme().to_owned()).as_deref() {
                Ok("redis") => {}
                // Neither redis-rs nor sqlx is built with a TLS stack here.
                Ok("rediss") => return Err(ConfigError::RedisTlsUnsupported(redact_url(url))),
                _ => return Err(ConfigError::BadRedisUrl(redact_url(url))),
            }
        }
        let mut allowed_origins = self
            .allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(normalise_origin)
            .collect::<Result<Vec<_>, _>>()?;
        // The AcApp window is one of AcWing's pages: whatever AcWing we talk
        // to (a stand-in at ACWING_BASE_URL too), its origin loads our module.
        // Only an https or loopback one, though: a plain-http origin on the
        // network could be anyone's on the way.
        if let Some(real) = acwing.real() {
            let origin = real.base_url.origin().ascii_serialization();
            if !real.in_clear() && !allowed_origins.contains(&origin) {
                allowed_origins.push(origin);
            }
        }
        Ok(Settings {
            acwing,
            acwing_timeout: self.acwing_timeout,
            bind: self.bind,
            public_url,
            database_url,
            redis_url,
            redis_prefix: self.redis_prefix,
            shutdown_timeout: self.shutdown_timeout,
            allowed_origins,
            state_ttl: self.state_ttl,
            access_ttl: self.access_ttl,
            static_dir: self.static_dir,
            limits: LimitSettings {
                trusted_proxies: TrustedProxies::parse(&self.trusted_proxies)
                    .map_err(|e| ConfigError::BadTrustedProxy(e.to_string()))?,
                apply_code: Rate::new(self.apply_code_per_minute, self.apply_code_burst),
                receive_code: Rate::new(self.receive_code_per_minute, self.receive_code_burst),
                state_cap: self.state_cap as usize,
                getinfo: Rate::new(self.getinfo_per_minute, self.getinfo_burst),
                refresh: Rate::new(self.refresh_per_minute, self.refresh_burst),
                logout: Rate::new(self.logout_per_minute, self.logout_burst),
                refresh_per_session: Rate::new(
                    self.refresh_per_session_per_minute,
                    self.refresh_per_session_burst,
                ),
                connections_per_client: self.connections_per_client as usize,
            },
            metrics: MetricsSettings {
                bind: self.metrics_bind,
                on_app_port: self.metrics_on_app_port,
            },
        })
    }
}

/// The whole file, less the line break an editor or `echo` leaves.
fn read_secret_file(path: &std::path::Path) -> Result<AppSecret, ConfigError> {
    let raw = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(AppSecret::new(raw.trim_end_matches(['\n', '\r'])))
}

fn http_url(name: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let bad = || ConfigError::BadUrl {
        name,
        value: raw.to_owned(),
    };
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.query().is_some() {
        return Err(bad());
    }
    Ok(url)
}

fn normalise_origin(raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|_| ConfigError::BadOrigin(raw.to_owned()))?;
    let is_bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !is_bare {
        return Err(ConfigError::BadOrigin(raw.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}

/// `public_url` with `path` appended, `path` starting with `/`.
pub fn public_endpoint(public_url: &Url, path: &str) -> String {
    format!("{}{}", public_url.as_str().trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["acapp-server"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    /// Real credentials: valid settings in any build.
    const REAL: &[&str] = &["--appid", "1", "--secret", "s"];

    #[test]
    fn durations_accept_bare_seconds_and_units() {
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn half_credentials_are_refused() {
        let err = cli(&["--appid", "1"]).into_settings().unwrap_err();
        assert_eq!(err, ConfigError::HalfCredentials);
    }

    #[cfg(feature = "demo")]
    #[test]
    fn demo_mode_is_only_on_request() {
        assert_eq!(
            cli(&[]).into_settings().unwrap_err(),
            ConfigError::NoCredentials
        );
        let both = cli(&["--demo", "--appid", "1", "--secret", "s"]).into_settings();
        assert_eq!(both.unwrap_err(), ConfigError::DemoWithCredentials);
        // An AcWing address alone is not credentials, in either direction.
        let base = ["--acwing-base-url", "http://127.0.0.1:9/"];
        assert_eq!(
            cli(&base).into_settings().unwrap_err(),
            ConfigError::NoCredentials
        );
        let demo = cli(&[&["--demo"][..], &base].concat()).into_settings();
        assert!(matches!(demo.unwrap().acwing, AcwingMode::Demo(_)));
    }

    #[test]
    fn every_refusal_for_want_of_credentials_names_both_ways_out() {
        let empty = cli(&["--appid", "1", "--secret", ""]).into_settings();
        for refusal in [
            ConfigError::NoCredentials,
            ConfigError::HalfCredentials,
            empty.unwrap_err(),
        ] {
            let message = refusal.to_string();
            for needle in ["ACWING_APPID", "ACWING_SECRET", "--demo", "ACAPP_DEMO=1"] {
                assert!(message.contains(needle), "{message:?} lacks {needle}");
            }
        }
    }

    #[test]
    fn the_secret_comes_from_a_file_without_its_line_break() {
        let path = std::env::temp_dir().join(format!("acapp-secret-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let file = path.to_str().unwrap();
        let settings = cli(&["--appid", "1", "--secret-file", file])
            .into_settings()
            .unwrap();
        let Some(acwing) = settings.acwing.real() else {
            panic!("real credentials give real mode");
        };
        assert_eq!(acwing.secret.expose(), "s3cret");
        let both = cli(&["--appid", "1", "--secret", "x", "--secret-file", file]).into_settings();
        assert_eq!(both.unwrap_err(), ConfigError::TwoSecrets);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn debug_of_the_cli_redacts_the_secret() {
        let shown = format!("{:?}", cli(&["--appid", "1", "--secret", "hunter2"]));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_public_url_with_a_path_is_refused() {
        let err = cli(&[REAL, &["--public-url", "https://a.example/game"]].concat())
            .into_settings()
            .unwrap_err();
        assert!(matches!(err, ConfigError::PublicUrlWithPath(_)));
    }

    #[test]
    fn absurd_durations_do_not_overflow() {
        assert!(parse_duration("99999999999999999h").is_err());
    }

    #[test]
    fn public_url_defaults_to_the_bind_address() {
        let settings = cli(&[REAL, &["--bind", "127.0.0.1:9000"]].concat())
            .into_settings()
            .unwrap();
        assert_eq!(
            public_endpoint(&settings.public_url, "/x/"),
            "http://127.0.0.1:9000/x/"
        );
    }

    #[cfg(feature = "demo")]
    #[test]
    fn dev_mode_is_demo_mode_behind_trunk() {
        let settings = cli(&["--dev"]).into_settings().unwrap();
        assert_eq!(
            public_endpoint(&settings.public_url, "/x/"),
            "http://127.0.0.1:8080/x/"
        );
        assert!(settings.acwing.behind_trunk());
        let AcwingMode::Demo(demo) = settings.acwing else {
            panic!("--dev runs against the simulator");
        };
        assert_eq!(
            demo.trunk_socket.as_deref(),
            Some("ws://127.0.0.1:8080/.well-known/trunk/ws")
        );
        // Plain demo mode has no trunk to listen to.
        let plain = cli(&["--demo"]).into_settings().unwrap();
        assert!(!plain.acwing.behind_trunk());
        let elsewhere = cli(&["--dev", "--public-url", "https://dev.example:9443"])
            .into_settings()
            .unwrap();
        let AcwingMode::Demo(demo) = elsewhere.acwing else {
            panic!("--dev runs against the simulator");
        };
        assert_eq!(
            demo.trunk_socket.as_deref(),
            Some("wss://dev.example:9443/.well-known/trunk/ws")
        );
        let real = cli(&["--dev", "--appid", "1", "--secret", "s"]).into_settings();
        assert_eq!(real.unwrap_err(), ConfigError::DemoWithCredentials);
    }

    #[cfg(not(feature = "demo"))]
    #[test]
    fn without_the_demo_feature_demo_mode_is_refused_with_the_way_to_it() {
        for args in [
            &["--demo"][..],
            &["--dev"],
            &["--demo", "--appid", "1", "--secret", "s"],
        ] {
            let err = cli(args).into_settings().unwrap_err();
            assert_eq!(err, ConfigError::NoDemoMode, "{args:?}");
            let message = err.to_string();
            assert!(!message.contains('\n'), "{message}");
            for needle in ["no demo mode", "cargo xtask run", "--features demo"] {
                assert!(message.contains(needle), "{message:?} lacks {needle}");
            }
        }
        assert!(!cli(REAL).into_settings().unwrap().acwing.behind_trunk());
    }

    #[test]
    fn origins_are_normalised_and_checked() {
        assert_eq!(
            normalise_origin("https://www.acwing.com/").unwrap(),
            "https://www.acwing.com"
        );
        assert!(normalise_origin("https://www.acwing.com/path").is_err());
        assert!(normalise_origin("ftp://x").is_err());
    }

    #[test]
    fn acwings_own_origin_is_always_allowed() {
        let stand_in = cli(&[
            "--appid",
            "1",
            "--secret",
            "s",
            "--acwing-base-url",
            "http://127.0.0.1:18801/",
            "--allowed-origins",
            "https://game.example",
        ])
        .into_settings()
        .unwrap();
        assert_eq!(
            stand_in.allowed_origins,
            ["https://game.example", "http://127.0.0.1:18801"]
        );
        let real = cli(&["--appid", "1", "--secret", "s"])
            .into_settings()
            .unwrap();
        assert_eq!(real.allowed_origins, ["https://www.acwing.com"]);
        let plain = cli(&[
            "--appid",
            "1",
            "--secret",
            "s",
            "--acwing-base-url",
            "http://acwing-proxy.internal:8080",
        ])
        .into_settings()
        .unwrap();
        assert_eq!(plain.allowed_origins, ["https://www.acwing.com"]);
    }

    #[test]
    fn limits_default_and_trusted_proxies_are_checked() {
        let settings = cli(REAL).into_settings().unwrap();
        assert_eq!(settings.limits, LimitSettings::default());
        let err = cli(&[REAL, &["--trusted-proxies", "10.0.0.0/8,nope"]].concat())
            .into_settings()
            .unwrap_err();
        assert!(matches!(err, ConfigError::BadTrustedProxy(ref m) if m.contains("nope")));
        let zero = Cli::try_parse_from(["acapp-server", "--apply-code-per-minute", "0"]);
        assert!(zero.is_err());
    }

    #[test]
    fn state_ttl_is_capped() {
        let err = cli(&[REAL, &["--state-ttl", "3h"]].concat())
            .into_settings()
            .unwrap_err();
        assert_eq!(err, ConfigError::StateTtlTooLong);
    }

    #[test]
    fn postgres_alone_or_with_redis_is_accepted_and_store_urls_are_checked() {
        let pg = "postgres://acapp:pg-pass@db.internal/acapp";
        let alone = cli(&[REAL, &["--database-url", pg]].concat())
            .into_settings()
            .unwrap();
        assert_eq!(alone.database_url, pg);
        assert_eq!(alone.redis_url, None);
        let settings = cli(&[
            "--appid",
            "1",
            "--secret",
            "s",
            "--database-url",
            pg,
            "--redis-url",
            "redis://r:6379/",
        ])
        .into_settings()
        .unwrap();
        assert_eq!(settings.redis_url.as_deref(), Some("redis://r:6379/"));
        let err = cli(&[REAL, &["--redis-url", "http://r/"]].concat())
            .into_settings()
            .unwrap_err();
        assert!(matches!(err, ConfigError::BadRedisUrl(_)));
        let err = cli(&[REAL, &["--database-url", "mysql://u:my-pass@h/db"]].concat())
            .into_settings()
            .unwrap_err();
        assert!(!err.to_string().contains("my-pass"), "{err}");
    }

    #[test]
    fn store_urls_that_demand_tls_are_refused_with_a_reason() {
        let err = cli(&[
            "--appid",
            "1",
            "--secret",
            "s",
            "--redis-url",
            "rediss://:r-pass@cache.internal:6380/0",
        ])
        .into_settings()
        .unwrap_err();
        assert!(matches!(err, ConfigError::RedisTlsUnsupported(_)), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("TLS") && !message.contains("r-pass"),
            "{message}"
        );
        for mode in ["require", "verify-ca", "VERIFY-FULL"] {
            let url = format!("postgres://acapp:pg-pass@db.internal/acapp?sslmode={mode}");
            let err = cli(&[REAL, &["--database-url", &url]].concat())
                .into_settings()
                .unwrap_err();
            assert!(
                matches!(err, ConfigError::PostgresTlsUnsupported(..)),
                "{mode}: {err}"
            );
            let message = err.to_string();
            assert!(
                message.contains("TLS") && !message.contains("pg-pass"),
                "{message}"
            );
        }
        for mode in ["disable", "prefer"] {
            let url = format!("postgres://acapp:pg-pass@db.internal/acapp?sslmode={mode}");
            assert!(cli(&[REAL, &["--database-url", &url]].concat())
                .into_settings()
                .is_ok());
        }
    }

    #[test]
    fn debug_of_settings_redacts_store_passwords() {
        let settings = cli(&[
            "--appid",
            "1",
            "--secret",
            "s",
            "--database-url",
            "postgres://acapp:pg-pass@db.internal/acapp",
            "--redis-url",
            "redis://:redis-pass@cache.internal:6379/0",
        ])
        .into_settings()
        .unwrap();
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("pg-pass") && !debug.contains("redis-pass"),
            "{debug}"
        );
        assert!(debug.contains("db.internal") && debug.contains("cache.internal"));
        assert_eq!(
            redact_url("postgres://acapp:pg-pass@db.internal/acapp"),
            "postgres://<redacted>@db.internal/acapp"
        );
    }
}
