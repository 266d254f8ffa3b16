//! getinfo's answer as types: a name and a photo URL that are safe to
//! store and show.

use std::fmt;

use url::Url;

/// What a new player may be called when AcWing gives no usable name.
pub const FALLBACK_USERNAME: &str = "AcWing用户";

/// Text from outside made fit to show or store: control characters
/// dropped, and every format character (Unicode's `Cf`: bidirectional
/// overrides, zero-width spaces and joiners, U+FEFF, the soft hyphen, …),
/// which could make a name display as another or look like one while
/// counting as another; at most `max` characters.
pub(crate) fn sanitise(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_format(*c))
        .take(max)
        .collect()
}

fn is_format(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    get_general_category(c) == GeneralCategory::Format
}

/// Text from outside reduced to what a log line needs: letters, digits and
/// plain punctuation, at most `max` characters. Markup, quotes and line
/// breaks never reach a log.
pub(crate) fn loggable(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ',' | ':'))
        .take(max)
        .collect()
}

/// A player's name from AcWing, cleaned: no control or format (`Cf`)
/// characters, no surrounding whitespace, not empty, at most
/// [`Username::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// The most characters (not bytes) a name keeps.
    pub const MAX_CHARS: usize = 64;

    /// Cleans `raw` (see [`Username`]): what is cut or dropped is gone, not
    /// refused. `None` when nothing is left.
    pub fn parse(raw: &str) -> Option<Username> {
        let name = sanitise(raw.trim(), Self::MAX_CHARS).trim().to_owned();
        (!name.is_empty()).then_some(Username(name))
    }

    /// The cleaned name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A player's photo as AcWing gave it, made safe to put in an `<img src>`:
/// an absolute http(s) URL with a host, at most [`PhotoUrl::MAX_LEN`]
/// bytes once percent-encoded, or empty ([`PhotoUrl::is_default`]) when
/// AcWing's was no such URL, which means "show the default avatar".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PhotoUrl(String);

impl PhotoUrl {
    /// The longest URL kept, in bytes, as stored (after percent-encoding).
    pub const MAX_LEN: usize = 1024;

    /// `raw` (trimmed) as a usable http(s) URL, or the default avatar.
    pub fn parse(raw: &str) -> PhotoUrl {
        let raw = raw.trim();
        if raw.len() > Self::MAX_LEN {
            return PhotoUrl::default();
        }
        match Url::parse(raw) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.as_str().len() <= Self::MAX_LEN =>
            {
                PhotoUrl(url.into())
            }
            _ => PhotoUrl::default(),
        }
    }

    /// The URL, or `""` for the default avatar.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the default avatar (AcWing's photo was unusable).
    pub fn is_default(&self) -> bool {
        self.0.is_empty()
    }
}

/// getinfo's answer, checked. `None` is what AcWing did not give: a new
/// player then gets a default, and a returning player may keep what was
/// stored before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Missing, not a string, or empty once cleaned: `None`.
    pub username: Option<Username>,
    /// Missing or not a string: `None`. A string that is no usable http(s)
    /// URL: the default avatar ([`PhotoUrl::is_default`]).
    pub photo: Option<PhotoUrl>,
}

impl Profile {
    /// The name, or [`FALLBACK_USERNAME`] when AcWing gave none.
    pub fn username_or_default(&self) -> &str {
        self.username
            .as_ref()
            .map_or(FALLBACK_USERNAME, Username::as_str)
    }

    /// The photo URL as text: `None` when AcWing gave none, `""` for the
    /// default avatar.
    pub fn photo_str(&self) -> Option<&str> {
        self.photo.as_ref().map(PhotoUrl::as_str)
    }

    /// Reads getinfo's fields: each may be missing, null or mistyped.
    pub(crate) fn from_json(username: &serde_json::Value, photo: &serde_json::Value) -> Profile {
        Profile {
            username: username.as_str().and_then(Username::parse),
            photo: photo.as_str().map(PhotoUrl::parse),
        }
    }
}
