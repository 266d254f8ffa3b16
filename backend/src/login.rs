//! The login use case, shared by both flows:
//! consume state → exchange code → find or create the player.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use shared::ErrorCode;

use crate::acwing::{errcode_meaning, AcwingClient};
use crate::clock::unix_now;
use crate::error::AppError;
use crate::players::{Player, PlayerRepo};
use crate::secret::{AcwingAccessToken, AcwingRefreshToken, AuthCode};
use crate::state_store::{self, Flow, StateStore};

/// What AcWing sends to `redirect_uri`: `code` and `state`, or a rejection
/// as `errcode` and `errmsg`.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub errcode: Option<String>,
    pub errmsg: Option<String>,
}

#[derive(Clone)]
pub struct Login {
    pub states: Arc<dyn StateStore>,
    pub acwing: AcwingClient,
    pub players: PlayerRepo,
    pub state_ttl: Duration,
}

impl Login {
    pub async fn begin(&self, flow: Flow, browser: Option<String>) -> Result<String, AppError> {
        Ok(state_store::issue(&*self.states, flow, browser, self.state_ttl).await?)
    }

    pub async fn complete(
        &self,
        flow: Flow,
        callback: Callback,
        browser: Option<&str>,
    ) -> Result<Player, AppError> {
        let checked =
            state_store::consume(&*self.states, callback.state.as_deref(), flow, browser).await?;
        if let Some(errcode) = callback.errcode.as_deref() {
            // A rejection is reported as such even with a bad state: telling
            // a player who pressed "reject" that the request expired would
            // only confuse them. The state was consumed above either way.
            return Err(rejection(errcode, callback.errmsg.as_deref()));
        }
        checked?;
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .map(AuthCode::new)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::MissingCode,
                    "AcWing called back without an authorization code.",
                )
            })?;
        let grant = self.acwing.exchange_code(&code).await?;
        if let Some(player) = self.players.by_openid(&grant.openid).await? {
            self.players.record_login(player.id, &grant).await?;
            tracing::info!(player = player.id, "returning player logged in");
            return Ok(player);
        }
        let profile = self
            .acwing
            .profile(&grant.access_token, &grant.openid)
            .await?;
        let player = self.players.create(&grant, &profile).await?;
        tracing::info!(player = player.id, "player logged in");
        Ok(player)
    }
}

impl Login {
    /// Fetches the player's current AcWing profile with the stored tokens,
    /// refreshing AcWing's access token (the documented refresh call) when it
    /// has expired, and stores the new photo.
    pub async fn sync_profile(&self, player: &Player) -> Result<Player, AppError> {
        let tokens = self
            .players
            .acwing_tokens(player.id)
            .await?
            .ok_or_else(AppError::unauthorized)?;
        let mut access = tokens.access_token;
        if tokens.access_expires_at <= unix_now() {
            access = self
                .refresh_acwing(player.id, &tokens.refresh_token)
                .await?;
        }
        let profile = match self.acwing.profile(&access, &player.openid).await {
            // Our clock and AcWing's may disagree: trust AcWing's 40004.
            Err(err) if err.is_access_expired() => {
                let access = self
                    .refresh_acwing(player.id, &tokens.refresh_token)
                    .await?;
                self.acwing.profile(&access, &player.openid).await?
            }
            other => other?,
        };
        self.players.update_profile(player.id, &profile).await?;
        Ok(Player {
            photo: profile.photo,
            ..player.clone()
        })
    }

    async fn refresh_acwing(
        &self,
        player_id: i64,
        refresh: &AcwingRefreshToken,
    ) -> Result<AcwingAccessToken, AppError> {
        let grant = self.acwing.refresh(refresh).await?;
        self.players.save_acwing_tokens(player_id, &grant).await?;
        Ok(grant.access_token)
    }
}

fn rejection(errcode: &str, errmsg: Option<&str>) -> AppError {
    let errcode = errcode.trim();
    match errcode_meaning(errcode) {
        ErrorCode::UserRejected => AppError::new(
            ErrorCode::UserRejected,
            "The player declined the authorization on AcWing.",
        ),
        code => {
            let errmsg: String = errmsg.unwrap_or("").chars().take(200).collect();
            tracing::warn!(errcode, errmsg, "AcWing called back with an error");
            AppError::new(
                code,
                format!("AcWing called back with errcode {errcode} ({errmsg})."),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acwing::ERRCODE_USER_REJECT;

    #[test]
    fn user_reject_maps_to_user_rejected() {
        assert_eq!(
            rejection(ERRCODE_USER_REJECT, None).code,
            ErrorCode::UserRejected
        );
        assert_eq!(
            rejection("40001", Some("code expired")).code,
            ErrorCode::CodeExpired
        );
        assert_eq!(rejection("99999", Some("x")).code, ErrorCode::AcwingError);
    }
}
