//! A client for AcWing's OAuth2 API, the server side of one-click login
//! for an AcApp (or a website): exchange the authorization code AcWing
//! sends to your `redirect_uri` for an access token and the player's
//! openid, read the player's name and photo (getinfo), and renew an access
//! token with its refresh token.
//!
//! What AcWing answers is parsed into types, not strings checked later: an
//! [`Openid`] is printable and bounded, a [`Username`] has no control or
//! invisible characters, a [`PhotoUrl`] is an http(s) URL or the default
//! avatar, and [`AppSecret`], [`AuthCode`], [`AccessToken`] and
//! [`RefreshToken`] never show in `Debug`. Every failure is an [`Error`];
//! AcWing's errcodes are an [`Errcode`].
//!
//! The crate does not take part in the browser's half of the flow (the
//! authorize URL and the `state`); [`AcwingClient::url`] builds AcWing's
//! URLs for it.
//!
//! # Example
//!
//! Against the AcWing simulator of this workspace (`acwing-sim`), which
//! plays AcWing on a loopback port:
//!
//! ```
//! use std::net::TcpListener;
//! use std::time::Duration;
//!
//! use acwing_oauth::{AcwingClient, AppId, AppSecret, AuthCode, Errcode, Error};
//! use acwing_sim::{SimConfig, Simulator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! actix_web::rt::System::new().block_on(async {
//!     // AcWing, simulated: one AcApp, the demo players.
//!     let sim = Simulator::start(
//!         TcpListener::bind("127.0.0.1:0")?,
//!         SimConfig {
//!             appid: "4242".into(),
//!             secret: "s3cret".into(),
//!             users: SimConfig::demo_users(),
//!             app_public_url: None,
//!         },
//!     )?;
//!
//!     let acwing = AcwingClient::builder(AppId::parse("4242")?, AppSecret::new("s3cret"))
//!         .base_url(sim.base_url().parse()?)
//!         .timeout(Duration::from_secs(5))
//!         .build()?;
//!
//!     // What AcWing sends to redirect_uri after the player agreed.
//!     let code = AuthCode::new(sim.issue_code("openid-yxc").expect("a demo player"));
//!     let grant = acwing.exchange_code(&code).await?;
//!     assert_eq!(grant.openid.as_str(), "openid-yxc");
//!
//!     let profile = acwing.getinfo(&grant.access_token, &grant.openid).await?;
//!     assert_eq!(profile.username_or_default(), "yxc");
//!     assert!(profile.photo_str().unwrap().starts_with("https://"));
//!
//!     // A code works once.
//!     match acwing.exchange_code(&code).await {
//!         Err(Error::Api { code: Errcode::CodeExpired, .. }) => {}
//!         other => panic!("{other:?}"),
//!     }
//!
//!     // The refresh token renews the access token.
//!     let refresh_token = grant.refresh_token.expect("AcWing sends one");
//!     let renewed = acwing.refresh(&refresh_token).await?;
//!     assert_eq!(renewed.openid, grant.openid);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # Errors
//!
//! | [`Error`] | What happened |
//! |---|---|
//! | `Api { code: Errcode::CodeExpired, .. }` | 40001: the code expired (5 min) or was used |
//! | `Api { code: Errcode::AccessTokenExpired, .. }` | 40004: the access token expired (2 h) |
//! | `Api { code: Errcode::UserReject, .. }` | 40010: the player declined (sent to redirect_uri; see [`Errcode::parse`]) |
//! | `Api { code: Errcode::Other(_), .. }` | any other errcode, such as a wrong appid or secret |
//! | `Timeout` | no answer within the timeout |
//! | `Unreachable` | no connection |
//! | `Status` | any status but 2xx (AcWing's own errors come with 200) |
//! | `Redirect` | a 3xx, never followed |
//! | `TooLarge` | more than [`MAX_ANSWER_BYTES`] |
//! | `Garbage` | not a JSON object |
//! | `Unusable` | JSON without a usable openid or access token |
//!
//! # Metrics
//!
//! A [`CallObserver`] given to [`ClientBuilder::observer`] hears of every
//! call as it ends: the [`Endpoint`], the [`Outcome`] and how long it took.
#![warn(missing_docs)]

mod client;
mod error;
mod parse;
mod profile;
mod types;

pub use client::{
    AcwingClient, BuildError, CallObserver, ClientBuilder, Endpoint, Outcome, ACWING_BASE_URL,
    DEFAULT_TIMEOUT,
};
pub use error::{Errcode, Error, OtherErrcode};
pub use parse::{parse_grant, parse_profile, TokenGrant};
pub use profile::{PhotoUrl, Profile, Username, FALLBACK_USERNAME};
pub use types::{AccessToken, AppId, AppSecret, AuthCode, Openid, ParseError, RefreshToken};

/// The largest answer read from AcWing, in bytes. AcWing's answers are a
/// few hundred bytes; this leaves room for a 20,000-character CJK name
/// written as `\uXXXX` escapes (as Python's `json.dumps` writes it), which
/// [`Username`] then cuts to size.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
