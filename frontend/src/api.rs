//! Calls to our backend (paths from `shared`). Bodies are read with the
//! browser's `JSON.parse` (see `answer`), which keeps a JSON parser out of
//! the wasm. Every request carries the app's abort signal and none starts
//! once the app has ended.

use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder, Response};
use shared::api::paths;
use shared::ErrorCode;
use wasm_bindgen::JsValue;

use crate::answer::{self, AcAppApply, Player, Tokens};
use crate::js;
use crate::life::Life;
use crate::problem::Problem;

#[derive(Clone)]
pub struct Api {
    /// Our origin, which game.js derives from its own URL: inside the AcApp
    /// relative URLs would resolve against www.acwing.com.
    base: Rc<str>,
    life: Rc<Life>,
}

impl Api {
    pub fn new(base: &str, life: Rc<Life>) -> Self {
        Self {
            base: base.trim_end_matches('/').into(),
            life,
        }
    }

    fn request(&self, builder: fn(&str) -> RequestBuilder, path: &str) -> RequestBuilder {
        builder(&format!("{}{}", self.base, path)).abort_signal(self.life.signal().as_ref())
    }

    async fn send(&self, request: Result<Request, gloo_net::Error>) -> Result<Response, Problem> {
        if !self.life.alive() {
            return Err(Problem::Network);
        }
        request
            .map_err(|_| Problem::Network)?
            .send()
            .await
            .map_err(|_| Problem::Network)
    }

    /// The body as a JS object, or the problem it reports.
    async fn body(&self, request: Result<Request, gloo_net::Error>) -> Result<JsValue, Problem> {
        let response = self.send(request).await?;
        let text = response.text().await.map_err(|_| Problem::Network)?;
        let object = answer::object(js::parse(&text), js::parse).ok_or(
            // Not JSON: a proxy's error page, say.
            Problem::Code(if response.status() >= 500 {
                ErrorCode::Busy
            } else {
                ErrorCode::Internal
            }),
        )?;
        answer::success(&object)?;
        Ok(object)
    }

    fn bearer(builder: RequestBuilder, access: Option<&str>) -> RequestBuilder {
        match access {
            Some(access) => builder.header("Authorization", &format!("Bearer {access}")),
            None => builder,
        }
    }

    /// The web session (cookie) is who we are on the standalone site.
    pub async fn getinfo(&self) -> Result<Player, Problem> {
        let request = self.request(Request::get, paths::GETINFO).build();
        answer::player(&self.body(request).await?)
    }

    pub async fn web_apply_code(&self) -> Result<String, Problem> {
        let request = self.request(Request::get, paths::WEB_APPLY_CODE).build();
        answer::web_apply(&self.body(request).await?)
    }

    pub async fn acapp_apply_code(&self) -> Result<AcAppApply, Problem> {
        let request = self.request(Request::get, paths::ACAPP_APPLY_CODE).build();
        answer::acapp_apply(&self.body(request).await?)
    }

    pub async fn refresh(&self, refresh: &str) -> Result<Tokens, Problem> {
        let body = js::json_string(refresh).ok_or(Problem::BadAnswer)?;
        let request = self
            .request(Request::post, paths::TOKEN_REFRESH)
            .header("Content-Type", "application/json")
            .body(format!("{{\"refresh\":{body}}}"));
        answer::tokens(&self.body(request).await?)
    }

    /// Revokes the session: the cookie's on the web, `access`'s in the
    /// AcApp. The refresh token goes too, so that the server can end the
    /// session even if `access` expired meanwhile (a throttled background
    /// tab, a laptop that slept).
    pub async fn logout(&self, access: Option<&str>, refresh: Option<&str>) -> Result<(), Problem> {
        let request = Self::bearer(self.request(Request::post, paths::LOGOUT), access);
        let request = match refresh.and_then(js::json_string) {
            Some(body) => request
                .header("Content-Type", "application/json")
                .body(format!("{{\"refresh\":{body}}}")),
            None => request.build(),
        };
        match self.send(request).await {
            Ok(response) if response.ok() => Ok(()),
            _ => Err(Problem::LogoutFailed),
        }
    }
}
