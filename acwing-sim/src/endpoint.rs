//! The calls of AcWing's that the simulator counts, logs and lets a
//! scenario decide.

/// One of AcWing's calls, as [`Simulator::calls`](crate::Simulator::calls)
/// counts them and the scenario API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /third_party/api/oauth2/access_token/`: a code for tokens.
    AccessToken,
    /// `GET /third_party/api/oauth2/refresh_token/`.
    RefreshToken,
    /// `GET /third_party/api/meta/identity/getinfo/`.
    GetInfo,
    /// The web flow's consent page, `GET /third_party/api/oauth2/web/authorize/`.
    /// [`Fault`](crate::Fault)s never apply to it; scenarios do.
    Consent,
    /// `AcWingOS.api.oauth2.authorize` in the simulated AcApp window.
    /// [`Fault`](crate::Fault)s never apply to it; scenarios do.
    Authorize,
}

impl Endpoint {
    /// Every endpoint, in the order the debugger lists them.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::AccessToken,
        Endpoint::RefreshToken,
        Endpoint::GetInfo,
        Endpoint::Consent,
        Endpoint::Authorize,
    ];

    /// The name the scenario API and the request log use.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::AccessToken => "access_token",
            Endpoint::RefreshToken => "refresh_token",
            Endpoint::GetInfo => "getinfo",
            Endpoint::Consent => "consent",
            Endpoint::Authorize => "authorize",
        }
    }

    /// The endpoint of that name, if any.
    pub fn parse(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Whether this is one of the server-to-server calls (the ones that
    /// carry the appid, and in the token exchange the secret), rather than
    /// a page the player sees.
    pub fn is_api(self) -> bool {
        matches!(
            self,
            Endpoint::AccessToken | Endpoint::RefreshToken | Endpoint::GetInfo
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for endpoint in Endpoint::ALL {
            assert_eq!(Endpoint::parse(endpoint.name()), Some(endpoint));
        }
        assert_eq!(Endpoint::parse("token"), None);
    }
}
