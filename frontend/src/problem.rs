//! What can go wrong, as the player reads it. Our server's error codes come
//! from `shared`; the rest happen in the browser and have no server code.

use shared::ErrorCode;

use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Our server (or AcWing through it) answered with an error code.
    Code(ErrorCode),
    /// The request never got an answer: offline, DNS, a dropped connection.
    Network,
    /// The login attempt got no answer within the login timeout (`LOGIN_TIMEOUT_MS`, 30 s)
    /// (AcWing never called back, or our apply_code never answered).
    Timeout,
    /// An answer arrived but is not one we understand.
    BadAnswer,
    /// Logging out did not reach the server; the session may still be alive.
    LogoutFailed,
}

impl Problem {
    /// Stable, for `data-acwl-code` attributes and tests.
    pub fn code(self) -> &'static str {
        match self {
            Problem::Code(code) => code.as_str(),
            Problem::Network => "network",
            Problem::Timeout => "timeout",
            Problem::BadAnswer => "bad_answer",
            Problem::LogoutFailed => "logout_failed",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Problem::Code(code) => code.player_message(),
            Problem::Network => text::NETWORK,
            Problem::Timeout => text::TIMEOUT,
            Problem::BadAnswer => text::BAD_ANSWER,
            Problem::LogoutFailed => text::LOGOUT_FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_problems_have_their_own_codes_and_messages() {
        let own = [
            Problem::Network,
            Problem::Timeout,
            Problem::BadAnswer,
            Problem::LogoutFailed,
        ];
        for problem in own {
            assert!(ErrorCode::ALL.iter().all(|c| c.as_str() != problem.code()));
            assert_ne!(problem.message(), ErrorCode::Busy.player_message());
        }
        assert_eq!(
            Problem::Code(ErrorCode::UserRejected).code(),
            "user_rejected"
        );
    }
}
