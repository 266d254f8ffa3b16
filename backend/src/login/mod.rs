//! The login use case, shared by both flows:
//! consume state → exchange code → find or create the player.

pub mod acwing;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use acwing_oauth::{AcwingClient, AuthCode, Errcode, TokenGrant};
use state::{Flow, StateRejection, StateStore, StoreError};

use crate::players::{Player, Players};
use crate::store::StoreFailure;

/// What AcWing sends to `redirect_uri`: `code` and `state`, or a rejection
/// as `errcode` and `errmsg`. Anyone can call redirect_uri, so every field
/// is untrusted until the state has been checked.
#[derive(Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub errcode: Option<String>,
    pub errmsg: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Callback")
            .field("code", &redacted(&self.code))
            .field("state", &redacted(&self.state))
            .field(
                "errcode",
                &self
                    .errcode
                    .as_deref()
                    .map(|e| Errcode::parse(e).to_string()),
            )
            .field("errmsg", &redacted(&self.errmsg))
            .finish()
    }
}

/// Why a login failed. The HTTP edge turns each into an error code and a
/// message a player can read.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the state was refused: {0}")]
    State(#[from] StateRejection),
    #[error("the state store refused: {0}")]
    StateStore(#[from] StoreError),
    /// AcWing called back with this errcode instead of a code.
    #[error("AcWing called back with errcode {0}")]
    Rejected(Errcode),
    #[error("AcWing called back without an authorization code")]
    MissingCode,
    #[error(transparent)]
    Acwing(#[from] acwing_oauth::Error),
    #[error(transparent)]
    Players(#[from] StoreFailure),
}

#[derive(Clone)]
pub struct Login {
    pub states: Arc<dyn StateStore>,
    pub acwing: AcwingClient,
    pub players: Players,
    pub state_ttl: Duration,
}

impl Login {
    /// The state is checked before anything else the caller sent is
    /// believed: without a valid one, an errcode is just noise.
    pub async fn complete(
        &self,
        flow: Flow,
        callback: Callback,
        browser: Option<&str>,
    ) -> Result<Player, LoginError> {
        state::consume(&*self.states, callback.state.as_deref(), flow, browser).await??;
        if let Some(errcode) = callback.errcode.as_deref() {
            return Err(rejection(errcode, callback.errmsg.as_deref()));
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .map(AuthCode::new)
            .ok_or(LoginError::MissingCode)?;
        let grant = self.acwing.exchange_code(&code).await?;
        if let Some(returning) = self.players.record_return(grant.openid.as_str()).await? {
            tracing::Span::current().record("player", returning.player.id);
            if returning.profile_stale {
                self.refresh_profile_later(returning.player.id, grant);
            }
            return Ok(returning.player);
        }
        let profile = self
            .acwing
            .getinfo(&grant.access_token, &grant.openid)
            .await?;
        let player = self.players.create(grant.openid.as_str(), &profile).await?;
        tracing::Span::current().record("player", player.id);
        tracing::info!(player = player.id, "new player");
        Ok(player)
    }

    /// Reads the player's name and photo from AcWing with the access token
    /// this login just obtained, off the login's path: the player never
    /// waits for it, and a failure only leaves the old profile in place.
    fn refresh_profile_later(&self, player_id: i64, grant: TokenGrant) {
        let login = self.clone();
        actix_web::rt::spawn(async move {
            let outcome = async {
                let profile = login
                    .acwing
                    .getinfo(&grant.access_token, &grant.openid)
                    .await?;
                login.players.update_profile(player_id, &profile).await?;
                Ok::<_, LoginError>(())
            };
            match outcome.await {
                Ok(()) => tracing::info!(player = player_id, "profile refreshed from AcWing"),
                Err(err) => {
                    tracing::warn!(player = player_id, error = %err, "profile refresh failed")
                }
            }
        });
    }
}

/// An errcode that came with a valid state. Neither it nor the errmsg is
/// ever repeated: the log gets the errcode as a bounded integer, and only
/// the errmsg's length, since whoever calls redirect_uri writes it.
fn rejection(errcode: &str, errmsg: Option<&str>) -> LoginError {
    let errcode = Errcode::parse(errcode);
    crate::metrics::acwing_error(errcode.as_str());
    if errcode != Errcode::UserReject {
        let errmsg_chars = errmsg.map_or(0, |m| m.chars().count());
        tracing::warn!(
            errcode = errcode.as_str(),
            errmsg_chars,
            "AcWing called back with an error"
        );
    }
    LoginError::Rejected(errcode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_code() {
        let callback = Callback {
            code: Some("the-code".into()),
            state: Some("s".into()),
            errcode: None,
            errmsg: None,
        };
        assert!(!format!("{callback:?}").contains("the-code"));
    }
}
