//! What can go wrong in a call to AcWing, and AcWing's errcodes.

use std::fmt;
use std::time::Duration;

use crate::MAX_ANSWER_BYTES;

/// Why a call to AcWing gave nothing usable. None of the variants carries
/// the secret, a code or a token: a `reqwest` error's text (which names the
/// URL, and with it the query) is never kept.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// AcWing answered with an errcode (with HTTP 200, as it does).
    #[error("AcWing answered errcode {code} ({message})")]
    Api {
        /// The errcode, sanitised.
        code: Errcode,
        /// The errmsg, reduced to letters, digits and plain punctuation, at
        /// most 100 characters; empty when AcWing sent none.
        message: String,
    },
    /// No answer within the client's total timeout (which it carries).
    #[error("AcWing did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed: refused, reset, DNS, TLS.
    #[error("AcWing could not be reached")]
    Unreachable,
    /// A status other than 2xx or 3xx: whatever the body, it is not AcWing
    /// answering (a gateway's 502, a throttling proxy's 429).
    #[error("AcWing answered HTTP {0}")]
    Status(u16),
    /// A 3xx. Redirects are never followed: one would carry the secret in
    /// its query to wherever it points.
    #[error("AcWing answered with a redirect (HTTP {0}), which is never followed")]
    Redirect(u16),
    /// The body is larger than [`MAX_ANSWER_BYTES`].
    #[error("AcWing's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    /// The body is not a JSON object.
    #[error("AcWing answered something that is not the expected JSON")]
    Garbage,
    /// A JSON object without what the call needs (such as a grant with no
    /// usable openid); the text says what.
    #[error("AcWing's answer is unusable: {0}")]
    Unusable(&'static str),
}

/// An errcode of AcWing's. AcWing sends it as a JSON number in some answers
/// and a string in others; both read the same here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Errcode {
    /// 40001: the authorization code expired, or was already used.
    CodeExpired,
    /// 40004: the access token expired (getinfo); refresh it, or log the
    /// player in again.
    AccessTokenExpired,
    /// 40010: the player declined the authorization ("user reject").
    UserReject,
    /// Any other errcode: an integer of at most 9 digits (with an optional
    /// minus sign) as AcWing wrote it, or `?` for anything else, so it is
    /// safe in a log line or a metric label.
    Other(OtherErrcode),
}

/// The text of an errcode [`Errcode`] has no name for: a short integer, or
/// `?`. Only [`Errcode::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherErrcode(String);

impl OtherErrcode {
    /// The errcode: a short integer, or `?`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Errcode {
    /// The errcode AcWing sends when a code expired or was used.
    pub const CODE_EXPIRED: &'static str = "40001";
    /// The errcode AcWing sends when an access token expired.
    pub const ACCESS_TOKEN_EXPIRED: &'static str = "40004";
    /// The errcode AcWing sends (to redirect_uri) when the player declined.
    pub const USER_REJECT: &'static str = "40010";

    /// Reads an errcode from AcWing, or from anyone who calls redirect_uri:
    /// surrounding whitespace is dropped, and anything but an integer of at
    /// most 9 digits becomes `Other("?")`. Only the exact texts of the known
    /// errcodes are known (`040010` is another errcode).
    pub fn parse(raw: &str) -> Errcode {
        let raw = raw.trim();
        match raw {
            Self::CODE_EXPIRED => Errcode::CodeExpired,
            Self::ACCESS_TOKEN_EXPIRED => Errcode::AccessTokenExpired,
            Self::USER_REJECT => Errcode::UserReject,
            _ => {
                let digits = raw.strip_prefix('-').unwrap_or(raw);
                let integer = !digits.is_empty()
                    && digits.len() <= 9
                    && digits.bytes().all(|b| b.is_ascii_digit());
                Errcode::Other(OtherErrcode(if integer {
                    raw.to_owned()
                } else {
                    "?".to_owned()
                }))
            }
        }
    }

    /// The errcode as text: `40001`, another short integer, or `?`.
    pub fn as_str(&self) -> &str {
        match self {
            Errcode::CodeExpired => Self::CODE_EXPIRED,
            Errcode::AccessTokenExpired => Self::ACCESS_TOKEN_EXPIRED,
            Errcode::UserReject => Self::USER_REJECT,
            Errcode::Other(other) => other.as_str(),
        }
    }
}

impl fmt::Display for Errcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_are_named_or_bounded() {
        assert_eq!(Errcode::parse("40001"), Errcode::CodeExpired);
        assert_eq!(Errcode::parse(" 40004 "), Errcode::AccessTokenExpired);
        assert_eq!(Errcode::parse("40010"), Errcode::UserReject);
        assert_eq!(Errcode::parse("000040010").as_str(), "000040010");
        assert_eq!(Errcode::parse("-7").as_str(), "-7");
        for hostile in ["<script>", "", "-", "1234567890", "4e4", "40001\n1"] {
            assert_eq!(Errcode::parse(hostile).as_str(), "?", "{hostile:?}");
        }
    }
}
