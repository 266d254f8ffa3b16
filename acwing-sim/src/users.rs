//! The users file: the AcWing users the consent page offers, each with a
//! fixed openid, in JSON or TOML.
//!
//! ```toml
//! [[users]]
//! openid = "openid-yxc"
//! username = "yxc"
//! photo = "https://cdn.acwing.com/media/user/profile/photo/1_lg_yxc.jpg"
//! ```
//!
//! or `{"users": [{"openid": …, "username": …, "photo": …}]}` (a bare JSON
//! list too). Without `photo` a user gets an avatar the simulator serves;
//! `photo = ""` is kept empty, for apps that must cope with that.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::SimUser;

/// At most this large a users file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// At most this many users.
pub const MAX_USERS: usize = 1000;
/// At most this long an openid, in characters.
pub const MAX_OPENID_CHARS: usize = 128;
/// At most this long a username, in characters: room for the very long
/// names an app must survive.
pub const MAX_USERNAME_CHARS: usize = 20_000;
/// At most this long a photo URL, in characters.
pub const MAX_PHOTO_CHARS: usize = 8192;

/// One user as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user's fixed openid: printable ASCII, no spaces.
    pub openid: String,
    /// Any text, hostile markup included: the simulator's pages escape it.
    pub username: String,
    /// The photo's URL; without it, an avatar the simulator serves.
    #[serde(default)]
    pub photo: Option<String>,
}

impl UserSpec {
    /// The user, with `avatar` (the simulator's avatar URL for a name)
    /// standing in for a missing photo.
    pub fn into_user(self, avatar: impl Fn(&str) -> String) -> SimUser {
        let photo = self.photo.unwrap_or_else(|| avatar(&self.username));
        SimUser {
            openid: self.openid,
            username: self.username,
            photo,
        }
    }
}

/// Why a users file was refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersFileError {
    /// The file cannot be read (or is not UTF-8).
    #[error("cannot read the users file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Over [`MAX_FILE_BYTES`].
    #[error("the users file {} is over {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Neither `.json` nor `.toml`.
    #[error("the users file {} must end in .json or .toml", path.display())]
    Format {
        /// The file.
        path: PathBuf,
    },
    /// Not JSON of users.
    #[error("the users file is not valid JSON of users: {0}")]
    Json(#[from] serde_json::Error),
    /// Not TOML of users.
    #[error("the users file is not valid TOML of users: {0}")]
    Toml(#[from] toml::de::Error),
    /// No users at all.
    #[error("the users file lists no users")]
    Empty,
    /// Over [`MAX_USERS`].
    #[error("the users file lists more than {MAX_USERS} users")]
    TooMany,
    /// The `index`-th user's openid (from 1) is empty, too long or not
    /// printable ASCII.
    #[error("user {index}: the openid must be 1 to {MAX_OPENID_CHARS} printable ASCII characters without spaces")]
    Openid {
        /// Which user, from 1.
        index: usize,
    },
    /// Two users with one openid.
    #[error("user {index}: the openid `{openid}` is also another user's")]
    Duplicate {
        /// The second of them, from 1.
        index: usize,
        /// The openid.
        openid: String,
    },
    /// A username over [`MAX_USERNAME_CHARS`].
    #[error("user {index}: the username is over {MAX_USERNAME_CHARS} characters")]
    Username {
        /// Which user, from 1.
        index: usize,
    },
    /// A photo over [`MAX_PHOTO_CHARS`].
    #[error("user {index}: the photo is over {MAX_PHOTO_CHARS} characters")]
    Photo {
        /// Which user, from 1.
        index: usize,
    },
}

/// Reads and checks the users file at `path` (JSON or TOML, by extension).
pub fn load(path: &Path) -> Result<Vec<UserSpec>, UsersFileError> {
    let read_error = |source| UsersFileError::Read {
        path: path.to_owned(),
        source,
    };
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
        Some(ext) if ext.eq_ignore_ascii_case("toml") => Format::Toml,
        _ => {
            return Err(UsersFileError::Format {
                path: path.to_owned(),
            })
        }
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    // Reads one byte past the limit, to tell a file at it from one over it
    // without trusting the size the file system reports.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(UsersFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    parse(&text, format)
}

/// The two formats of a users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
}

/// Parses and checks a users file's text.
pub fn parse(text: &str, format: Format) -> Result<Vec<UserSpec>, UsersFileError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        users: Vec<UserSpec>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum JsonUsers {
        List(Vec<UserSpec>),
        Table(Table),
    }
    let users = match format {
        Format::Json => match serde_json::from_str::<JsonUsers>(text) {
            Ok(JsonUsers::List(users)) | Ok(JsonUsers::Table(Table { users })) => users,
            // `untagged` says only "did not match"; the table's own error
            // names the field and line.
            Err(_) => serde_json::from_str::<Table>(text)?.users,
        },
        Format::Toml => toml::from_str::<Table>(text)?.users,
    };
    check(&users)?;
    Ok(users)
}

fn check(users: &[UserSpec]) -> Result<(), UsersFileError> {
    if users.is_empty() {
        return Err(UsersFileError::Empty);
    }
    if users.len() > MAX_USERS {
        return Err(UsersFileError::TooMany);
    }
    let mut seen = HashSet::new();
    for (at, user) in users.iter().enumerate() {
        let index = at + 1;
        let openid_ok = (1..=MAX_OPENID_CHARS).contains(&user.openid.len())
            && user.openid.bytes().all(|b| b.is_ascii_graphic());
        if !openid_ok {
            return Err(UsersFileError::Openid { index });
        }
        if !seen.insert(user.openid.as_str()) {
            return Err(UsersFileError::Duplicate {
                index,
                openid: user.openid.clone(),
            });
        }
        if user.username.chars().count() > MAX_USERNAME_CHARS {
            return Err(UsersFileError::Username { index });
        }
        if user
            .photo
            .as_ref()
            .is_some_and(|p| p.chars().count() > MAX_PHOTO_CHARS)
        {
            return Err(UsersFileError::Photo { index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_toml_give_the_same_users() {
        let toml = r#"
[[users]]
openid = "openid-1"
username = "<b>one</b>"
photo = ""

[[users]]
openid = "openid-2"
username = "two"
"#;
        let json = r#"{"users":[{"openid":"openid-1","username":"<b>one</b>","photo":""},
                               {"openid":"openid-2","username":"two"}]}"#;
        let bare = r#"[{"openid":"openid-1","username":"<b>one</b>","photo":""},
                       {"openid":"openid-2","username":"two"}]"#;
        let from_toml = parse(toml, Format::Toml).unwrap();
        assert_eq!(from_toml, parse(json, Format::Json).unwrap());
        assert_eq!(from_toml, parse(bare, Format::Json).unwrap());
        let users: Vec<SimUser> = from_toml
            .into_iter()
            .map(|u| u.into_user(|name| format!("avatar:{name}")))
            .collect();
        assert_eq!(users[0].photo, "", "an empty photo stays empty");
        assert_eq!(users[1].photo, "avatar:two", "a missing one is made up");
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let cases = [
            (r#"{"users":[]}"#, "no users"),
            (
                r#"{"users":[{"openid":"a b","username":"x"}]}"#,
                "user 1: the openid",
            ),
            (
                r#"{"users":[{"openid":"","username":"x"}]}"#,
                "user 1: the openid",
            ),
            (
                r#"{"users":[{"openid":"a","username":"x"},{"openid":"a","username":"y"}]}"#,
                "user 2: the openid `a` is also",
            ),
            (
                r#"{"users":[{"openid":"a","username":"x","admin":true}]}"#,
                "unknown field",
            ),
            (r#"{"users":[{"openid":"a"}]}"#, "missing field `username`"),
            ("not json", "not valid JSON"),
        ];
        for (text, expected) in cases {
            let error = parse(text, Format::Json).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let long = format!(
            r#"[{{"openid":"a","username":"{}"}}]"#,
            "x".repeat(MAX_USERNAME_CHARS + 1)
        );
        assert!(matches!(
            parse(&long, Format::Json),
            Err(UsersFileError::Username { index: 1 })
        ));
        let many: Vec<String> = (0..=MAX_USERS)
            .map(|i| format!(r#"{{"openid":"o{i}","username":"u"}}"#))
            .collect();
        assert!(matches!(
            parse(&format!("[{}]", many.join(",")), Format::Json),
            Err(UsersFileError::TooMany)
        ));
        let error = parse("[[users]]\nopenid = 1\n", Format::Toml).unwrap_err();
        assert!(error.to_string().contains("TOML"), "{error}");
    }

    #[test]
    fn a_file_is_read_by_its_extension_and_size() {
        let dir = std::env::temp_dir().join(format!("acwing-sim-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml = dir.join("users.toml");
        std::fs::write(&toml, "[[users]]\nopenid = \"o\"\nusername = \"u\"\n").unwrap();
        assert_eq!(load(&toml).unwrap().len(), 1);
        let yaml = dir.join("users.yaml");
        std::fs::write(&yaml, "").unwrap();
        assert!(matches!(load(&yaml), Err(UsersFileError::Format { .. })));
        let big = dir.join("big.json");
        std::fs::write(&big, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(load(&big), Err(UsersFileError::TooLarge { .. })));
        assert!(matches!(
            load(&dir.join("missing.json")),
            Err(UsersFileError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
