//! Settings from flags and environment variables (`cli`), validated into
//! types (`parse`) that the server runs on (`settings`).

mod cli;
mod parse;
mod settings;

pub use cli::Cli;
pub use settings::*;

/// What the command line asks for: the server's settings, and in a build
/// with the `demo` feature, whether to start the simulator beside it.
#[derive(Debug)]
pub struct Launch {
    pub settings: Settings,
    /// Demo mode: the simulator plays AcWing (`settings.acwing` names it).
    #[cfg(feature = "demo")]
    pub demo: Option<DemoSettings>,
}

impl Launch {
    /// The frontend dev loop (`--dev`): the server sits behind `trunk serve`.
    pub fn behind_trunk(&self) -> bool {
        #[cfg(feature = "demo")]
        return self
            .demo
            .as_ref()
            .is_some_and(|demo| demo.trunk_socket.is_some());
        #[cfg(not(feature = "demo"))]
        false
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
