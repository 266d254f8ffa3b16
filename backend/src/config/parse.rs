//! Parsing of single values: durations, URLs, origins, secrets. Each says
//! what is wrong in words a person setting a variable understands.

use std::time::Duration;

use acwing_oauth::AppSecret;
use url::Url;

use super::ConfigError;

pub(super) fn parse_duration(raw: &str) -> Result<Duration, String> {
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

pub(super) fn parse_secret(raw: &str) -> Result<AppSecret, String> {
    Ok(AppSecret::new(raw))
}

/// The `sslmode` of a PostgreSQL URL when it demands TLS (`require`,
/// `verify-ca`, `verify-full`), which sqlx built without a TLS feature
/// cannot do; `disable`, `allow` and `prefer` work over plain TCP.
pub(super) fn postgres_tls_mode(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .filter(|(key, _)| key == "sslmode" || key == "ssl-mode")
        .map(|(_, mode)| mode.to_ascii_lowercase())
        .find(|mode| matches!(mode.as_str(), "require" | "verify-ca" | "verify-full"))
}

pub(super) fn http_url(name: &'static str, raw: &str) -> Result<Url, ConfigError> {
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

pub(super) fn normalise_origin(raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|_| ConfigError::BadOrigin(raw.to_owned()))?;
    let is_bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !is_bare {
        return Err(ConfigError::BadOrigin(raw.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}
