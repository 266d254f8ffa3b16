//! Newtypes for what AcWing's API takes and gives: an id is never a secret
//! by mistake, and `Debug` never prints a secret.

use std::fmt;

/// A value that could not be parsed into one of this crate's types; it
/// says what was wrong, never the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub(crate) &'static str);

impl ParseError {
    /// What was wrong with the value, as a short sentence fragment.
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

/// Whether `raw` is non-empty, at most `max` bytes and printable ASCII
/// with no space: what may go back to AcWing in a URL's query.
fn printable_token(raw: &str, max: usize) -> bool {
    !raw.is_empty() && raw.len() <= max && raw.bytes().all(|b| b.is_ascii_graphic())
}

/// Implements the redacted `Debug`, `expose` and the constructor shared by
/// every secret.
macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl $name {
            /// The only way to read the value: grep for it when auditing.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An AcApp's id, shown on AcWing's page for editing the AcApp. Not a
/// secret: it is in every authorize URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppId(String);

impl AppId {
    /// The longest appid accepted.
    pub const MAX_LEN: usize = 64;

    /// Surrounding whitespace is dropped; what is left must be non-empty,
    /// at most [`AppId::MAX_LEN`] bytes of printable ASCII.
    pub fn parse(raw: &str) -> Result<AppId, ParseError> {
        let raw = raw.trim();
        if printable_token(raw, Self::MAX_LEN) {
            Ok(AppId(raw.to_owned()))
        } else {
            Err(ParseError("the appid is empty, too long or not printable"))
        }
    }

    /// The appid as AcWing shows it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AcApp's secret, shown on AcWing's page for editing the AcApp. Sent
/// only in the code exchange; `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret(String);
redacted_debug!(AppSecret);

impl AppSecret {
    /// Any string: AcWing alone decides whether it is the right secret.
    /// An empty one is refused later by AcWing (errcode), so callers that
    /// read it from configuration should refuse it first.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

/// A single-use authorization code, as AcWing sends it to redirect_uri.
/// `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCode(String);
redacted_debug!(AuthCode);

impl AuthCode {
    /// Any string that arrived as `code`: only AcWing can tell whether it
    /// is valid, and says so with errcode 40001 if not.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

/// AcWing's access token for one player, valid for 2 hours (the seeds).
/// `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);
redacted_debug!(AccessToken);

impl AccessToken {
    /// AcWing's access tokens are a few dozen characters; longer than this
    /// is not one.
    pub const MAX_LEN: usize = 512;

    /// Non-empty, at most [`AccessToken::MAX_LEN`] bytes of printable
    /// ASCII: it goes back to AcWing in a URL.
    pub fn parse(raw: &str) -> Result<AccessToken, ParseError> {
        if printable_token(raw, Self::MAX_LEN) {
            Ok(AccessToken(raw.to_owned()))
        } else {
            Err(ParseError(
                "the access_token is missing, empty, too long or not printable",
            ))
        }
    }
}

/// AcWing's refresh token, valid for 30 days (the seeds); it renews an
/// access token through [`AcwingClient::refresh`](crate::AcwingClient::refresh).
/// `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);
redacted_debug!(RefreshToken);

impl RefreshToken {
    /// Longer than this is not one of AcWing's refresh tokens.
    pub const MAX_LEN: usize = 512;

    /// Non-empty, at most [`RefreshToken::MAX_LEN`] bytes of printable
    /// ASCII: it goes back to AcWing in a URL.
    pub fn parse(raw: &str) -> Result<RefreshToken, ParseError> {
        if printable_token(raw, Self::MAX_LEN) {
            Ok(RefreshToken(raw.to_owned()))
        } else {
            Err(ParseError(
                "the refresh_token is empty, too long or not printable",
            ))
        }
    }
}

/// AcWing's id for one player of one AcApp: the same player has another
/// openid in another AcApp. Not a secret, but it identifies a player.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Openid(String);

impl Openid {
    /// Longer than this is not an openid.
    pub const MAX_LEN: usize = 128;

    /// Non-empty, at most [`Openid::MAX_LEN`] bytes of printable ASCII
    /// with no space.
    pub fn parse(raw: &str) -> Result<Openid, ParseError> {
        if printable_token(raw, Self::MAX_LEN) {
            Ok(Openid(raw.to_owned()))
        } else {
            Err(ParseError("the openid is empty, too long or not printable"))
        }
    }

    /// The openid as AcWing sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Openid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Openid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_secret_is_redacted() {
        assert_eq!(
            format!("{:?}", AppSecret::new("hunter2")),
            "AppSecret(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", AuthCode::new("c0de")),
            "AuthCode(<redacted>)"
        );
        let access = AccessToken::parse("t0ken").unwrap();
        assert_eq!(format!("{access:?}"), "AccessToken(<redacted>)");
        let refresh = RefreshToken::parse("r3fresh").unwrap();
        assert_eq!(format!("{refresh:?}"), "RefreshToken(<redacted>)");
    }

    #[test]
    fn ids_are_printable_and_bounded() {
        assert_eq!(AppId::parse(" 4242\n").unwrap().as_str(), "4242");
        assert!(AppId::parse("  ").is_err());
        assert!(AppId::parse("42 42").is_err());
        assert!(Openid::parse("").is_err());
        assert!(Openid::parse("has space").is_err());
        assert!(Openid::parse(&"x".repeat(Openid::MAX_LEN + 1)).is_err());
        assert_eq!(Openid::parse("o").unwrap().as_str(), "o");
        assert!(AccessToken::parse(&"x".repeat(AccessToken::MAX_LEN + 1)).is_err());
        assert!(RefreshToken::parse("a\u{7f}").is_err());
    }
}
