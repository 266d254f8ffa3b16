//! The command line and environment, read by clap and checked into a
//! `Launch`: every flag has a variable, and `--help` lists both (as
//! docs/configuration.md does, which a test holds to it).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use acwing_oauth::{AppId, AppSecret};
use clap::Parser;
use url::Url;

use super::parse::{http_url, normalise_origin, parse_duration, parse_secret, postgres_tls_mode};
#[cfg(feature = "demo")]
use super::settings::{trunk_socket, DemoSettings, TRUNK_SERVE_URL};
use super::settings::{AcwingSettings, DatabaseKind, LimitSettings, MetricsSettings, Settings};
use super::{ConfigError, Launch};
use crate::client_ip::TrustedProxies;
use crate::rate::Rate;
use crate::store::redact_url;

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

impl Cli {
    pub fn into_launch(self) -> Result<Launch, ConfigError> {
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
        #[cfg(feature = "demo")]
        let mut demo = None;
        let acwing = match (wants_demo, self.appid, secret) {
            // ACWING_BASE_URL alone means nothing to the built-in simulator,
            // and does no harm: only credentials make demo mode ambiguous.
            #[cfg(feature = "demo")]
            (true, None, None) => {
                demo = Some(DemoSettings {
                    simulator_bind: self.simulator_bind,
                    trunk_socket: self.dev.then(|| trunk_socket(&public_url)),
                });
                DemoSettings::acwing(self.simulator_bind)
            }
            (true, ..) => return Err(ConfigError::DemoWithCredentials),
            (false, Some(appid), Some(secret)) => {
                if appid.trim().is_empty() || secret.expose().is_empty() {
                    return Err(ConfigError::EmptyCredentials);
                }
                let raw = self
                    .acwing_base_url
                    .unwrap_or_else(|| "https://www.acwing.com".into());
                AcwingSettings {
                    appid: AppId::parse(&appid).map_err(ConfigError::BadAppid)?,
                    secret,
                    base_url: http_url("ACWING_BASE_URL", &raw)?,
                }
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
        // (In demo mode the simulator adds its own, once it listens.)
        #[cfg(feature = "demo")]
        let real = demo.is_none();
        #[cfg(not(feature = "demo"))]
        let real = true;
        let origin = acwing.base_url.origin().ascii_serialization();
        if real && !acwing.in_clear() && !allowed_origins.contains(&origin) {
            allowed_origins.push(origin);
        }
        let settings = Settings {
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
        };
        Ok(Launch {
            settings,
            #[cfg(feature = "demo")]
            demo,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::public_endpoint;

    impl Cli {
        fn into_settings(self) -> Result<Settings, ConfigError> {
            self.into_launch().map(|launch| launch.settings)
        }
    }

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
        let demo = cli(&[&["--demo"][..], &base].concat()).into_launch();
        assert!(demo.unwrap().demo.is_some());
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
        assert_eq!(settings.acwing.secret.expose(), "s3cret");
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
        let launch = cli(&["--dev"]).into_launch().unwrap();
        assert_eq!(
            public_endpoint(&launch.settings.public_url, "/x/"),
            "http://127.0.0.1:8080/x/"
        );
        assert!(launch.behind_trunk());
        let Some(demo) = launch.demo else {
            panic!("--dev runs against the simulator");
        };
        assert_eq!(
            demo.trunk_socket.as_deref(),
            Some("ws://127.0.0.1:8080/.well-known/trunk/ws")
        );
        // Plain demo mode has no trunk to listen to.
        let plain = cli(&["--demo"]).into_launch().unwrap();
        assert!(!plain.behind_trunk());
        // The simulator's own origin joins the allowed ones once it listens.
        let simulator = plain
            .settings
            .acwing
            .base_url
            .origin()
            .ascii_serialization();
        assert!(!plain.settings.allowed_origins.contains(&simulator));
        let elsewhere = cli(&["--dev", "--public-url", "https://dev.example:9443"])
            .into_launch()
            .unwrap();
        let Some(demo) = elsewhere.demo else {
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
        assert!(!cli(REAL).into_launch().unwrap().behind_trunk());
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
