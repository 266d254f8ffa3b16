//! Our own credentials as a newtype, so that a mix-up is a compile error
//! and `Debug` never prints one, and the random values they are made of.
//! AcWing's secrets and tokens are `acwing_oauth`'s types.

use rand::RngCore;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The only way to read the value: grep for it when auditing.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_string!(
    /// One of our own credentials: a session cookie, an access or a refresh token.
    SessionToken
);

/// Whether `value` has the shape `random_hex(bytes)` makes: exactly
/// `2 * bytes` lowercase hex digits. Values we minted are checked with it
/// before they cost a lookup, so a planted or oversized one goes no further.
pub fn is_random_hex(value: &str, bytes: usize) -> bool {
    value.len() == 2 * bytes
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `bytes` random bytes from a CSPRNG, hex-encoded.
///
/// The thread-local generator is ChaCha12, seeded from the OS and reseeded
/// from it every 64 KiB: as unpredictable as asking the OS each time, without
/// a system call for every state, token and request id.
pub fn random_hex(bytes: usize) -> String {
    assert!(bytes <= 64, "random_hex makes at most 64 bytes");
    let mut buf = [0u8; 64];
    let buf = &mut buf[..bytes];
    rand::thread_rng().fill_bytes(buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let token = SessionToken::new("hunter2");
        assert_eq!(format!("{token:?}"), "SessionToken(<redacted>)");
    }

    #[test]
    fn random_hex_has_the_asked_length_and_differs() {
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_hex(16));
    }
}
