//! Settings from flags and environment variables, validated into types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

use crate::secret::AppSecret;

/// The seed keeps a state for 2 h; ours may not live longer.
const MAX_STATE_TTL: Duration = Duration::from_secs(2 * 60 * 60);

#[derive(Debug, Parser)]
#[command(
    name = "acapp-server",
    about = "AcWing one-click login for an AcApp. With neither ACWING_APPID nor ACWING_SECRET set it runs in demo mode against a built-in AcWing simulator."
)]
pub struct Cli {
    /// The AcApp's appid. Set together with ACWING_SECRET to use real AcWing.
    #[arg(long, env = "ACWING_APPID")]
    pub appid: Option<String>,
    /// The AcApp's secret. Never logged.
    #[arg(long, env = "ACWING_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
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
    /// sqlite://PATH [default: sqlite://data/acapp.db].
    #[arg(long, env = "ACAPP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// CORS allowlist, comma-separated origins.
    #[arg(
        long,
        env = "ACAPP_ALLOWED_ORIGINS",
        default_value = "https://www.acwing.com"
    )]
    pub allowed_origins: String,
    /// Lifetime of a login `state`, in seconds (or like 90s, 10m); at most 2 h.
    #[arg(long, env = "ACAPP_STATE_TTL", default_value = "600", value_parser = parse_duration)]
    pub state_ttl: Duration,
    /// Where demo mode's AcWing simulator listens.
    #[arg(long, env = "ACWING_SIMULATOR_BIND", default_value = "127.0.0.1:8001")]
    pub simulator_bind: SocketAddr,
    /// The built frontend (`cargo xtask run` builds it here).
    #[arg(long, env = "ACAPP_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
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
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("`{raw}` has an unknown unit; use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("a duration must be greater than zero".into());
    }
    Ok(duration)
}

/// How we reach AcWing: for real, or through the built-in simulator.
#[derive(Debug, Clone)]
pub enum AcwingMode {
    Real(AcwingSettings),
    Demo { simulator_bind: SocketAddr },
}

#[derive(Debug, Clone)]
pub struct AcwingSettings {
    pub appid: String,
    pub secret: AppSecret,
    pub base_url: Url,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub acwing: AcwingMode,
    pub acwing_timeout: Duration,
    pub bind: SocketAddr,
    /// Without a trailing slash, e.g. `https://app1.acapp.acwing.com.cn`.
    pub public_url: Url,
    pub database_url: String,
    /// Normalised origins (`scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    pub state_ttl: Duration,
    pub static_dir: PathBuf,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("ACWING_APPID and ACWING_SECRET must be set together (set both for real AcWing, neither for demo mode)")]
    HalfCredentials,
    #[error("ACWING_BASE_URL is set but ACWING_APPID and ACWING_SECRET are not; demo mode always uses the built-in simulator")]
    BaseUrlInDemo,
    #[error("{name} `{value}` is not an absolute http(s) URL")]
    BadUrl { name: &'static str, value: String },
    #[error("ACAPP_ALLOWED_ORIGINS entry `{0}` is not an origin like https://www.acwing.com")]
    BadOrigin(String),
    #[error("ACAPP_STATE_TTL may be at most 2h (7200 s), as in AcWing's docs")]
    StateTtlTooLong,
    #[error("ACAPP_DATABASE_URL `{0}` is not supported; use sqlite://PATH")]
    BadDatabaseUrl(String),
    #[error("ACWING_APPID must not be empty")]
    EmptyAppid,
}

impl Cli {
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let acwing = match (self.appid, self.secret) {
            (Some(appid), Some(secret)) => {
                if appid.trim().is_empty() || secret.is_empty() {
                    return Err(ConfigError::EmptyAppid);
                }
                let raw = self
                    .acwing_base_url
                    .unwrap_or_else(|| "https://www.acwing.com".into());
                AcwingMode::Real(AcwingSettings {
                    appid: appid.trim().to_owned(),
                    secret: AppSecret::new(secret),
                    base_url: http_url("ACWING_BASE_URL", &raw)?,
                })
            }
            (None, None) if self.acwing_base_url.is_some() => {
                return Err(ConfigError::BaseUrlInDemo)
            }
            (None, None) => AcwingMode::Demo {
                simulator_bind: self.simulator_bind,
            },
            _ => return Err(ConfigError::HalfCredentials),
        };
        let public_url = match self.public_url {
            Some(raw) => http_url("ACAPP_PUBLIC_URL", &raw)?,
            None => http_url("ACAPP_PUBLIC_URL", &format!("http://{}", self.bind))?,
        };
        if self.state_ttl > MAX_STATE_TTL {
            return Err(ConfigError::StateTtlTooLong);
        }
        let database_url = self
            .database_url
            .unwrap_or_else(|| "sqlite://data/acapp.db".into());
        if !database_url.starts_with("sqlite:") {
            return Err(ConfigError::BadDatabaseUrl(database_url));
        }
        let allowed_origins = self
            .allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(normalise_origin)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            acwing,
            acwing_timeout: self.acwing_timeout,
            bind: self.bind,
            public_url,
            database_url,
            allowed_origins,
            state_ttl: self.state_ttl,
            static_dir: self.static_dir,
        })
    }
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

    #[test]
    fn public_url_defaults_to_the_bind_address() {
        let settings = cli(&["--bind", "127.0.0.1:9000"]).into_settings().unwrap();
        assert_eq!(
            public_endpoint(&settings.public_url, "/x/"),
            "http://127.0.0.1:9000/x/"
        );
        assert!(matches!(settings.acwing, AcwingMode::Demo { .. }));
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
    fn state_ttl_is_capped() {
        let err = cli(&["--state-ttl", "3h"]).into_settings().unwrap_err();
        assert_eq!(err, ConfigError::StateTtlTooLong);
    }
}
