//! The `acwing-sim` binary's command line: flags and environment variables
//! (clap), checked into what [`Simulator::start_with`](crate::Simulator::start_with)
//! takes.

use std::io::Read;
use std::path::PathBuf;

use clap::Parser;
use url::Url;

use crate::users::{self, UserSpec, UsersFileError};
use crate::{pages, AcAppRegistration, AppDomain, DomainError, SimConfig, SimOptions, SimUser};

/// The environment variable that holds the secret. Never a flag: flags
/// show in `ps`.
pub const SECRET_ENV: &str = "ACWING_SIM_SECRET";
/// At most this long an appid, a secret, a URL or a class name, in bytes.
const MAX_SETTING: usize = 2048;

const AFTER_HELP: &str = "\
The secret comes from ACWING_SIM_SECRET, or from the file --secret-file names (never a flag:
flags show in `ps`). Give your backend the same appid and secret, and point it at this address:

  http://ADDR/third_party/api/oauth2/access_token/    (was https://www.acwing.com/third_party/…)
  http://ADDR/third_party/api/oauth2/refresh_token/
  http://ADDR/third_party/api/meta/identity/getinfo/
  http://ADDR/third_party/api/oauth2/web/authorize/   (the web flow's consent page)

Open http://ADDR/acapp/ for the AcApp window and http://ADDR/__sim/ for the debugger. Scenarios,
the clock and reset are JSON over HTTP under /__sim/; acwing-sim/README.md has curl examples.

The first line on stdout is `listening on http://ADDR`; everything else goes to stderr.";

/// A stand-in for AcWing: its OAuth2 API, the consent page and an AcApp
/// window with AcWingOS, on your machine.
#[derive(Debug, Parser)]
#[command(name = "acwing-sim", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Where to listen (port 0: any free port; the address is printed).
    #[arg(long, env = "ACWING_SIM_BIND", default_value = "127.0.0.1:8001")]
    pub bind: String,
    /// Your AcApp's appid.
    #[arg(long, env = "ACWING_SIM_APPID", default_value = "1000")]
    pub appid: String,
    /// A file holding the secret, instead of ACWING_SIM_SECRET.
    #[arg(long, env = "ACWING_SIM_SECRET_FILE", value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// The users to log in as: a .json or .toml file of openid, username
    /// and photo (see the README). Default: four demo users.
    #[arg(long, env = "ACWING_SIM_USERS", value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Your app's domain (host[:port]) or origin (https://host[:port]):
    /// only a redirect_uri there gets a code. Repeat it, or separate with
    /// commas, for more. Default: the host of --acapp-js (or
    /// --app-public-url); without either, any http(s) URL.
    #[arg(
        long = "app-domain",
        env = "ACWING_SIM_APP_DOMAIN",
        value_name = "DOMAIN",
        value_delimiter = ',',
        value_parser = parse_domain
    )]
    pub app_domains: Vec<AppDomain>,
    /// The AcApp's JS URL (AcWing's registration "JS地址"): the ES module
    /// the window page imports.
    #[arg(long, env = "ACWING_SIM_ACAPP_JS", value_name = "URL")]
    pub acapp_js: Option<String>,
    /// The AcApp's CSS URL ("CSS地址").
    #[arg(long, env = "ACWING_SIM_ACAPP_CSS", value_name = "URL")]
    pub acapp_css: Option<String>,
    /// The AcApp's main class ("主类名"), constructed as
    /// `new Class(id, AcWingOS)`.
    #[arg(
        long,
        env = "ACWING_SIM_ACAPP_CLASS",
        value_name = "NAME",
        default_value = "AcGame"
    )]
    pub acapp_class: String,
    /// This workspace's app: its origin, whose /acapp/game.js and
    /// game.css the window loads when --acapp-js is not given
    /// (e.g. http://127.0.0.1:8000).
    #[arg(long, env = "ACWING_SIM_APP_PUBLIC_URL", value_name = "URL")]
    pub app_public_url: Option<String>,
    /// A jQuery build (jquery.min.js) the AcApp window page provides as `$`,
    /// as acwing.com's page provides jQuery 3.3.1. `cargo xtask sim`
    /// installs that version from npm and passes it.
    #[arg(long, env = "ACWING_SIM_JQUERY", value_name = "FILE")]
    pub jquery: Option<std::path::PathBuf>,
    /// actix worker threads.
    #[arg(long, default_value_t = SimOptions::default().workers)]
    pub workers: usize,
    /// Any openid logs in, as a player made up on the spot (load tests).
    #[arg(long)]
    pub any_user: bool,
    /// Serve POST /_sim/control/latency/{ms} (benchmarks).
    #[arg(long)]
    pub control: bool,
}

fn parse_domain(raw: &str) -> Result<AppDomain, DomainError> {
    raw.parse()
}

/// A command line that cannot run, and why.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Neither ACWING_SIM_SECRET nor --secret-file.
    #[error("set {SECRET_ENV} (or --secret-file) to the secret your backend will use")]
    NoSecret,
    /// The secret file cannot be read.
    #[error("cannot read the secret file {}: {source}", path.display())]
    SecretFile {
        /// The file named.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// An empty, overlong or control-character secret.
    #[error("the secret must be 1 to {MAX_SETTING} bytes with no control characters")]
    BadSecret,
    /// An empty, overlong or control-character appid.
    #[error("the appid must be 1 to 64 printable characters")]
    BadAppid,
    /// A URL flag that is not an absolute http(s) URL.
    #[error("{flag} must be an absolute http(s) URL, not `{value}`")]
    BadUrl {
        /// The flag.
        flag: &'static str,
        /// What it was given.
        value: String,
    },
    /// The jQuery file cannot be read.
    #[error("cannot read the jQuery file {}: {source}", path.display())]
    JqueryFile {
        /// The file named.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A main class name JavaScript would not take.
    #[error("--acapp-class must be a JavaScript name (letters, digits, _ and $), not `{0}`")]
    BadClass(String),
    /// A CSS URL with no JS URL to go with it.
    #[error("--acapp-css needs --acapp-js (the registration's JS URL)")]
    CssWithoutJs,
    /// The users file was refused.
    #[error(transparent)]
    Users(#[from] UsersFileError),
}

/// What the command line asks for, checked.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Where to listen.
    pub bind: String,
    /// The appid.
    pub appid: String,
    /// The secret (kept out of `Debug`).
    secret: Secret,
    /// The users file's users, or `None` for the demo users.
    pub users: Option<Vec<UserSpec>>,
    /// This workspace's app's origin, if given.
    pub app_public_url: Option<String>,
    /// Everything else.
    pub options: SimOptions,
    /// Whether the accepted domains were worked out from the JS URL.
    pub derived_domains: bool,
}

/// A secret that `Debug` does not print.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn http_url(flag: &'static str, value: &str) -> Result<Url, CliError> {
    let bad = || CliError::BadUrl {
        flag,
        value: value.to_owned(),
    };
    if value.len() > MAX_SETTING {
        return Err(bad());
    }
    Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(bad)
}

pub(crate) fn is_js_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn check_secret(secret: &str) -> Result<String, CliError> {
    if secret.is_empty() || secret.len() > MAX_SETTING || secret.chars().any(char::is_control) {
        return Err(CliError::BadSecret);
    }
    Ok(secret.to_owned())
}

impl Cli {
    /// Checks everything, reading the secret (from `secret_env`, the value
    /// of ACWING_SIM_SECRET, unless a file is named) and the users file.
    pub fn launch(self, secret_env: Option<String>) -> Result<Launch, CliError> {
        let jquery = match &self.jquery {
            Some(path) => Some(std::sync::Arc::<str>::from(
                std::fs::read_to_string(path).map_err(|source| CliError::JqueryFile {
                    path: path.clone(),
                    source,
                })?,
            )),
            None => None,
        };
        let secret = match &self.secret_file {
            Some(path) => {
                let read_error = |source| CliError::SecretFile {
                    path: path.clone(),
                    source,
                };
                let mut text = String::new();
                std::fs::File::open(path)
                    .map_err(read_error)?
                    .take(MAX_SETTING as u64 + 2)
                    .read_to_string(&mut text)
                    .map_err(read_error)?;
                // A file written by `echo` ends in a newline that is no
                // part of the secret.
                check_secret(text.trim_end_matches(['\r', '\n']))?
            }
            None => check_secret(&secret_env.ok_or(CliError::NoSecret)?)?,
        };
        if self.appid.is_empty()
            || self.appid.chars().count() > 64
            || self.appid.chars().any(char::is_control)
        {
            return Err(CliError::BadAppid);
        }
        let js = self
            .acapp_js
            .as_deref()
            .map(|js| http_url("--acapp-js", js))
            .transpose()?;
        if let Some(css) = &self.acapp_css {
            if js.is_none() {
                return Err(CliError::CssWithoutJs);
            }
            http_url("--acapp-css", css)?;
        }
        if !is_js_name(&self.acapp_class) {
            return Err(CliError::BadClass(self.acapp_class));
        }
        let public = self
            .app_public_url
            .as_deref()
            .map(|url| http_url("--app-public-url", url))
            .transpose()?;
        let users = self.users.as_deref().map(users::load).transpose()?;
        let derived_domains = self.app_domains.is_empty();
        let app_domains = if derived_domains {
            js.as_ref()
                .or(public.as_ref())
                .and_then(AppDomain::of)
                .into_iter()
                .collect()
        } else {
            self.app_domains
        };
        let acapp = js.map(|js| AcAppRegistration {
            js_url: js.into(),
            css_url: self.acapp_css,
            class_name: self.acapp_class,
        });
        Ok(Launch {
            bind: self.bind,
            appid: self.appid,
            secret: Secret(secret),
            users,
            app_public_url: self
                .app_public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            options: SimOptions {
                workers: self.workers,
                auto_users: self.any_user,
                control: self.control,
                live_reload: None,
                app_domains,
                acapp,
                jquery,
            },
            derived_domains,
        })
    }
}

impl Launch {
    /// The simulator's config once it is known to serve at `base_url`:
    /// users without a photo get one it serves.
    pub fn config(&self, base_url: &str) -> SimConfig {
        let avatar = |name: &str| pages::avatar_url(base_url, name);
        let users = match &self.users {
            Some(specs) => specs
                .iter()
                .cloned()
                .map(|spec| spec.into_user(avatar))
                .collect(),
            // The demo users' CDN photos are made up: served here instead.
            None => SimConfig::demo_users()
                .into_iter()
                .map(|user| SimUser {
                    photo: if user.photo.starts_with("https://") {
                        avatar(&user.username)
                    } else {
                        user.photo
                    },
                    ..user
                })
                .collect(),
        };
        SimConfig {
            appid: self.appid.clone(),
            secret: self.secret.0.clone(),
            users,
            app_public_url: self.app_public_url.clone(),
        }
    }

    /// What it serves, for a person reading stderr.
    pub fn summary(&self, base_url: &str) -> String {
        let domains = if self.options.app_domains.is_empty() {
            "any http(s) URL (no --app-domain and no --acapp-js to take one from)".to_owned()
        } else {
            let list: Vec<String> = self
                .options
                .app_domains
                .iter()
                .map(ToString::to_string)
                .collect();
            let from = if self.derived_domains {
                " (from the JS URL; --app-domain to change)"
            } else {
                ""
            };
            format!("{}{from}", list.join(", "))
        };
        let acapp = match (&self.options.acapp, &self.app_public_url) {
            (Some(r), _) => format!("{} ({})", r.js_url, r.class_name),
            (None, Some(app)) => format!("{app}/acapp/game.js"),
            (None, None) => "none registered (--acapp-js URL)".to_owned(),
        };
        let jquery = if self.options.jquery.is_some() {
            "provided as $"
        } else {
            "none (--jquery FILE, for an AcApp written the course's way)"
        };
        format!(
            "acwing-sim: appid {appid}\n  \
             API:          {base_url}/third_party/api/…\n  \
             AcApp window: {base_url}/acapp/   hosting {acapp}\n  \
             jQuery:       {jquery}\n  \
             debugger:     {base_url}/__sim/\n  \
             redirect_uri: {domains}",
            appid = self.appid,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("acwing-sim").chain(args.iter().copied())).unwrap()
    }

    fn launch(args: &[&str]) -> Result<Launch, CliError> {
        cli(args).launch(Some("s3cret".into()))
    }

    #[test]
    fn the_registration_and_its_domain() {
        let l = launch(&[
            "--acapp-js",
            "http://127.0.0.1:8000/static/js/dist/game.js",
            "--acapp-css",
            "http://127.0.0.1:8000/static/css/game.css",
        ])
        .unwrap();
        let r = l.options.acapp.clone().unwrap();
        assert_eq!(r.class_name, "AcGame");
        assert_eq!(l.options.app_domains, ["127.0.0.1".parse().unwrap()]);
        assert!(l.derived_domains && l.options.jquery.is_none());
        let explicit = launch(&["--app-domain", "a.example,https://b.example"]).unwrap();
        assert_eq!(explicit.options.app_domains.len(), 2);
        assert!(launch(&[]).unwrap().options.app_domains.is_empty());
    }

    #[test]
    fn the_secret_never_shows() {
        let l = launch(&[]).unwrap();
        assert!(!format!("{l:?}").contains("s3cret"));
        assert!(!l.summary("http://x").contains("s3cret"));
        assert_eq!(l.config("http://x").secret, "s3cret");
        assert!(matches!(cli(&[]).launch(None), Err(CliError::NoSecret)));
        assert!(matches!(
            cli(&[]).launch(Some(String::new())),
            Err(CliError::BadSecret)
        ));
    }

    #[test]
    fn the_demo_users_get_photos_served_here() {
        let config = launch(&[]).unwrap().config("http://127.0.0.1:9");
        assert_eq!(
            config.users[0].photo,
            "http://127.0.0.1:9/_sim/avatar/yxc.svg"
        );
        assert_eq!(
            config.users[3].photo, "javascript:alert(1)",
            "the hostile one stays"
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(matches!(
            launch(&["--acapp-js", "game.js"]),
            Err(CliError::BadUrl {
                flag: "--acapp-js",
                ..
            })
        ));
        assert!(matches!(
            launch(&["--acapp-css", "http://x/a.css"]),
            Err(CliError::CssWithoutJs)
        ));
        assert!(matches!(
            launch(&["--acapp-js", "http://x/a.js", "--acapp-class", "new AcGame"]),
            Err(CliError::BadClass(_))
        ));
        assert!(matches!(launch(&["--appid", ""]), Err(CliError::BadAppid)));
        assert!(matches!(
            launch(&["--users", "/nonexistent/users.json"]),
            Err(CliError::Users(UsersFileError::Read { .. }))
        ));
        let bad_domain = Cli::try_parse_from(["acwing-sim", "--app-domain", "ftp://x"]);
        assert!(bad_domain.unwrap_err().to_string().contains("origin"));
    }
}
