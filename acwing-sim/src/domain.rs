//! The app's domain: where AcWing sends codes. A `redirect_uri` elsewhere
//! is refused before the player is asked anything (see the README, "A
//! foreign redirect_uri").

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Where an app's `redirect_uri`s may point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppDomain {
    /// A host, with or without a port: any scheme, and any port unless one
    /// is given (`app1234.acapp.acwing.com.cn`, `127.0.0.1:8000`).
    Host {
        /// The host, lowercase, as a URL's host is written.
        host: String,
        /// The one port allowed, if any.
        port: Option<u16>,
    },
    /// Exactly one origin: scheme, host and port
    /// (`https://app1234.acapp.acwing.com.cn`).
    Origin(url::Origin),
}

/// Why a domain was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// Neither a host nor a URL.
    #[error("`{0}` is not a domain (host[:port]) or an origin (http[s]://host[:port])")]
    Invalid(String),
    /// A URL that is more than an http(s) origin.
    #[error("`{0}`: an origin is http or https, with no path, query or user")]
    NotAnOrigin(String),
}

impl FromStr for AppDomain {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<AppDomain, DomainError> {
        let raw = raw.trim();
        let invalid = || DomainError::Invalid(raw.to_owned());
        if raw.contains("://") {
            let url = Url::parse(raw).map_err(|_| invalid())?;
            let bare = matches!(url.scheme(), "http" | "https")
                && url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
                && url.host().is_some();
            return if bare {
                Ok(AppDomain::Origin(url.origin()))
            } else {
                Err(DomainError::NotAnOrigin(raw.to_owned()))
            };
        }
        if raw.is_empty() || raw.contains(['/', '?', '#', '@']) {
            return Err(invalid());
        }
        // Parsed as the host of a URL, so that case and IP spellings are
        // normalised the way a redirect_uri's host will be.
        let url = Url::parse(&format!("http://{raw}")).map_err(|_| invalid())?;
        let host = url.host_str().ok_or_else(invalid)?.to_owned();
        let port = if raw
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !raw.ends_with(']')
        {
            url.port_or_known_default()
        } else {
            None
        };
        Ok(AppDomain::Host { host, port })
    }
}

impl AppDomain {
    /// The domain of a URL the app is served from: its host, any port.
    pub fn of(url: &Url) -> Option<AppDomain> {
        Some(AppDomain::Host {
            host: url.host_str()?.to_owned(),
            port: None,
        })
    }

    /// Whether `url` is on this domain.
    pub fn accepts(&self, url: &Url) -> bool {
        match self {
            AppDomain::Host { host, port } => {
                url.host_str() == Some(host.as_str())
                    && port.is_none_or(|port| url.port_or_known_default() == Some(port))
            }
            AppDomain::Origin(origin) => &url.origin() == origin,
        }
    }
}

impl fmt::Display for AppDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppDomain::Host { host, port: None } => write!(f, "{host}"),
            AppDomain::Host {
                host,
                port: Some(port),
            } => write!(f, "{host}:{port}"),
            AppDomain::Origin(origin) => write!(f, "{}", origin.ascii_serialization()),
        }
    }
}

/// Whether `url` may receive codes: an http(s) URL on one of `domains`,
/// or anywhere when none is set.
pub fn accepted(domains: &[AppDomain], url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && (domains.is_empty() || domains.iter().any(|d| d.accepts(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn a_host_takes_any_scheme_and_port_unless_one_is_given() {
        let host: AppDomain = "App1234.acapp.acwing.com.cn".parse().unwrap();
        assert_eq!(host.to_string(), "app1234.acapp.acwing.com.cn");
        assert!(host.accepts(&url("https://app1234.acapp.acwing.com.cn/receive/")));
        assert!(host.accepts(&url("http://app1234.acapp.acwing.com.cn:8000/x")));
        assert!(!host.accepts(&url("https://app1235.acapp.acwing.com.cn/")));
        assert!(!host.accepts(&url("https://evil.app1234.acapp.acwing.com.cn/")));

        let with_port: AppDomain = "127.0.0.1:8000".parse().unwrap();
        assert!(with_port.accepts(&url("http://127.0.0.1:8000/r/")));
        assert!(!with_port.accepts(&url("http://127.0.0.1:8001/r/")));
        let v6: AppDomain = "[::1]".parse().unwrap();
        assert!(v6.accepts(&url("http://[::1]:9/")));
    }

    #[test]
    fn an_origin_is_exact() {
        let origin: AppDomain = "https://app1234.acapp.acwing.com.cn".parse().unwrap();
        assert!(origin.accepts(&url("https://app1234.acapp.acwing.com.cn/r/?a=1")));
        assert!(!origin.accepts(&url("http://app1234.acapp.acwing.com.cn/r/")));
        assert!(!origin.accepts(&url("https://app1234.acapp.acwing.com.cn:444/r/")));
        assert_eq!(origin.to_string(), "https://app1234.acapp.acwing.com.cn");
    }

    #[test]
    fn nonsense_is_refused() {
        for raw in [
            "",
            "a/b",
            "ftp://x",
            "https://x/path",
            "https://u@x",
            "http://",
            "a b",
        ] {
            assert!(raw.parse::<AppDomain>().is_err(), "{raw}");
        }
    }

    #[test]
    fn no_domain_accepts_any_http_url_and_nothing_else() {
        assert!(accepted(&[], &url("http://anywhere/")));
        assert!(!accepted(&[], &url("javascript:alert(1)")));
        let ours = ["127.0.0.1".parse().unwrap()];
        assert!(accepted(&ours, &url("http://127.0.0.1:1/")));
        assert!(!accepted(&ours, &url("http://localhost:1/")));
    }
}
