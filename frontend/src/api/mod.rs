//! The API handle: every call to our backend goes through an [`Api`].
//!
//! - It carries the platform's credential: on the web the session cookie
//!   (a same-origin request, as the browser sends it by default); in the
//!   AcApp `Authorization: Bearer <access>`, from tokens held in memory.
//! - On a 401 in the AcApp it refreshes once and sends the request again,
//!   once. A refresh is never doubled: all handles share one, and every
//!   caller that meets a 401 meanwhile waits for it (`api/flight.rs`).
//! - It refreshes ahead of expiry, tries a failed refresh again with
//!   backoff (telling the session "重新连接…"), and ends the session only
//!   when the server refuses it for good (`api/refresh.rs`).
//! - A handle belongs to a [`Scope`]: `use_api` gives each screen its own,
//!   which ends (aborting its fetches) when the screen unmounts, and the
//!   app's teardown ends them all.
//!
//! Bodies are read with the browser's `JSON.parse` (see `answer`), which
//! keeps a JSON parser out of the wasm.

pub mod flight;
pub mod refresh;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::task::Poll;

use shared::api::paths;
use shared::ErrorCode;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::Callback;

use crate::answer::{self, AcAppApply, ApplyCodeUrl, Done, FromBody, Tokens};
use crate::js;
use crate::platform::Platform;
use crate::problem::Problem;
use crate::scope::{Scope, Timer};
use flight::{Flight, Landing};
use refresh::Verdict;

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// What came back from one request.
struct Reply {
    status: u16,
    /// The body, if it is a JSON object.
    body: Option<JsValue>,
}

impl Reply {
    fn read<T: FromBody>(&self) -> Result<T, Problem> {
        // Not JSON: a proxy's error page, say.
        let Some(object) = &self.body else {
            return Err(Problem::Code(if self.status >= 500 {
                ErrorCode::Busy
            } else {
                ErrorCode::Internal
            }));
        };
        answer::success(object)?;
        T::read(object)
    }
}

/// The request game.js sent while the wasm loaded: the first call to
/// `path` without a credential or a body takes its answer instead of
/// sending its own.
/// What the API handle tells the session about its credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A refresh failed for a reason worth retrying; it is being retried.
    Reconnecting,
    /// A refresh succeeded after failures.
    Reconnected,
    /// The server refused the session for good.
    SessionEnded(Problem),
}

pub struct First {
    path: String,
    response: js_sys::Promise,
}

thread_local! {
    // From `AcGame::new` to the app's `Api`. Each AcGame has a wasm
    // instance of its own, so this is one window's.
    static FIRST: RefCell<Option<First>> = const { RefCell::new(None) };
}

/// Keeps game.js's early request, `{path, response}`, for the app's `Api`
/// (anything else is ignored).
pub fn hand_over_first(first: &JsValue) {
    let field = |key: &str| js_sys::Reflect::get(first, &key.into()).ok();
    let path = field("path").and_then(|p| p.as_string());
    let response = field("response").and_then(|r| r.dyn_into().ok());
    FIRST.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = path
                .zip(response)
                .map(|(path, response)| First { path, response });
        }
    });
}

/// Both futures at once, e.g. two requests sent together:
/// `join(api.get::<A>(a), api.get::<B>(b)).await`. A request goes out when
/// its future is first polled, and this polls both at once; `.await`ing
/// one after the other would send the second only after the first
/// answered.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut done_a, mut done_b) = (None, None);
    poll_fn(move |cx| {
        if done_a.is_none() {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                done_a = Some(out);
            }
        }
        if done_b.is_none() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                done_b = Some(out);
            }
        }
        if done_a.is_some() && done_b.is_some() {
            if let (Some(a), Some(b)) = (done_a.take(), done_b.take()) {
                return Poll::Ready((a, b));
            }
        }
        Poll::Pending
    })
    .await
}

/// What every handle of one app shares.
struct Core {
    /// Our origin, which game.js derives from its own URL: inside the AcApp
    /// relative URLs would resolve against www.acwing.com.
    base: Rc<str>,
    platform: Platform,
    /// The app's lifetime: refreshes run in it, not in a screen's.
    root: Scope,
    /// The session's reducer.
    notify: Callback<Notice>,
    /// The AcApp's credentials, in memory only: the page's storage and
    /// cookies belong to acwing.com.
    tokens: RefCell<Option<Tokens>>,
    /// When the access token should be renewed (ms since the epoch).
    refresh_at: Cell<f64>,
    /// Refreshes failed in a row, for the backoff; 0 when all is well.
    failures: Cell<u32>,
    refresh: Rc<Flight<Result<(), Problem>>>,
    first: RefCell<Option<First>>,
}

#[derive(Clone)]
pub struct Api {
    core: Rc<Core>,
    scope: Scope,
}

impl PartialEq for Api {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.core, &other.core) && self.scope == other.scope
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn refresh_body(refresh: &str) -> Option<String> {
    let token = js::json_string(refresh)?;
    let mut body = String::from("{\"refresh\":");
    body.push_str(&token);
    body.push('}');
    Some(body)
}

impl Api {
    /// The app's handle, living as long as `root`; `notify` is the
    /// session's reducer.
    pub fn new(base: &str, platform: Platform, root: Scope, notify: Callback<Notice>) -> Api {
        Api {
            scope: root.clone(),
            core: Rc::new(Core {
                base: base.trim_end_matches('/').into(),
                platform,
                root,
                notify,
                tokens: RefCell::new(None),
                refresh_at: Cell::new(f64::INFINITY),
                failures: Cell::new(0),
                refresh: Rc::default(),
                first: RefCell::new(
                    FIRST.with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take())),
                ),
            }),
        }
    }

    /// A handle that can do nothing: for a component rendered outside the
    /// app's provider.
    pub fn detached() -> Api {
        Api::new("", Platform::Web, Scope::ended(), Callback::noop())
    }

    /// A handle of its own, ended with [`Api::cancel`] or with this one.
    pub fn scoped(&self) -> Api {
        Api {
            core: self.core.clone(),
            scope: self.scope.child(),
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn platform(&self) -> &Platform {
        &self.core.platform
    }

    /// Aborts this handle's requests; nothing starts in it any more.
    pub fn cancel(&self) {
        self.scope.end();
    }

    /// Ends the app for good (the AcApp's exit, once the window closes).
    pub fn end_app(&self) {
        self.core.forget();
        self.core.root.end();
    }

    /// `GET path` with the session's credential: the body, read as `T`.
    pub fn get<'a, T: FromBody + 'a>(
        &'a self,
        path: &'a str,
    ) -> impl Future<Output = Result<T, Problem>> + 'a {
        self.send(Method::Get, path, None)
    }

    /// `POST path` with the session's credential and `json` as the body.
    pub fn post<'a, T: FromBody + 'a>(
        &'a self,
        path: &'a str,
        json: Option<&'a str>,
    ) -> impl Future<Output = Result<T, Problem>> + 'a {
        self.send(Method::Post, path, json)
    }

    // One copy per answer type, whatever the method (not one for `get`
    // and another for `post`).
    async fn send<T: FromBody>(
        &self,
        method: Method,
        path: &str,
        json: Option<&str>,
    ) -> Result<T, Problem> {
        self.call(method, path, json).await?.read()
    }

    // Not generic over the answer's type: one copy of this in the bundle.
    async fn call(&self, method: Method, path: &str, json: Option<&str>) -> Result<Reply, Problem> {
        let mut retried = false;
        loop {
            let used = self.core.access();
            let reply = self
                .core
                .exchange(&self.scope, method, path, json, used.as_deref())
                .await?;
            if reply.status != 401 || retried {
                return Ok(reply);
            }
            match (&self.core.platform, used) {
                (Platform::AcApp(_), Some(used)) => {
                    // A refresh may have landed while this request was
                    // out: then its fresh token is tried without another.
                    if self.core.access().as_deref() == Some(used.as_str()) {
                        self.refresh().await?;
                    }
                    retried = true;
                }
                (Platform::Web, _) => {
                    // The cookie session is over (the session ignores this
                    // while nobody is logged in, as at the start).
                    self.core
                        .notify
                        .emit(Notice::SessionEnded(Problem::Code(ErrorCode::Unauthorized)));
                    return Ok(reply);
                }
                (Platform::AcApp(_), None) => return Ok(reply),
            }
        }
    }

    /// A request that needs no credential (the logins' apply_code).
    async fn public(&self, path: &str) -> Result<Reply, Problem> {
        self.core
            .exchange(&self.scope, Method::Get, path, None, None)
            .await
    }

    /// Asks for a login `state` and the URL of AcWing's page (web).
    pub async fn web_apply_code(&self) -> Result<ApplyCodeUrl, Problem> {
        self.public(paths::WEB_APPLY_CODE).await?.read()
    }

    /// Asks for what `authorize` takes (AcApp).
    pub async fn acapp_apply_code(&self) -> Result<AcAppApply, Problem> {
        self.public(paths::ACAPP_APPLY_CODE).await?.read()
    }

    /// Holds the AcApp's new tokens and refreshes them ahead of expiry.
    pub fn begin_session(&self, tokens: Tokens) {
        if self.core.root.alive() {
            self.core.failures.set(0);
            Core::keep(&self.core, tokens);
        }
    }

    /// Renews the tokens now: joins the refresh under way, if any.
    pub async fn refresh(&self) -> Result<(), Problem> {
        Core::refresh(&self.core).await
    }

    /// The page is visible again, or back online: a refresh that a timer
    /// should have started (a laptop that slept, a throttled tab) or a
    /// failed one waiting for its retry happens now.
    pub fn wake(&self) {
        let core = &self.core;
        if core.access().is_none() || core.refresh.busy() {
            return;
        }
        if core.failures.get() > 0 || refresh::due(now_ms(), core.refresh_at.get()) {
            Core::refresh_later(core);
        }
    }

    /// Revokes the session: the cookie's on the web, the tokens' in the
    /// AcApp. The refresh token goes too, so that the server can end the
    /// session even if `access` expired meanwhile (a throttled background
    /// tab, a laptop that slept).
    pub async fn logout(&self) -> Result<(), Problem> {
        let (access, refresh) = (self.core.access(), self.core.refresh_token());
        let body = refresh.as_deref().and_then(refresh_body);
        let reply = self
            .core
            .exchange(
                &self.scope,
                Method::Post,
                paths::LOGOUT,
                body.as_deref(),
                access.as_deref(),
            )
            .await;
        match reply.map(|r| r.read::<Done>()) {
            Ok(Ok(Done)) => {
                self.core.forget();
                Ok(())
            }
            _ => Err(Problem::LogoutFailed),
        }
    }

    /// Ends every session of the player, on every device, this one
    /// included (the web's cookie too). Like any call it refreshes once on
    /// a 401; the server's refusal ends the session as usual.
    pub async fn logout_everywhere(&self) -> Result<(), Problem> {
        self.post::<Done>(paths::LOGOUT_EVERYWHERE, None).await?;
        self.core.forget();
        Ok(())
    }
}

impl Core {
    fn token(&self, pick: fn(&Tokens) -> &String) -> Option<String> {
        let tokens = self.tokens.try_borrow().ok()?;
        tokens.as_ref().map(|t| pick(t).clone())
    }

    fn access(&self) -> Option<String> {
        self.token(|t| &t.access)
    }

    fn refresh_token(&self) -> Option<String> {
        self.token(|t| &t.refresh)
    }

    /// One request in `scope`, whose end aborts it. Err is a request that
    /// got no answer (offline, aborted); any answer is a [`Reply`].
    async fn exchange(
        &self,
        scope: &Scope,
        method: Method,
        path: &str,
        json: Option<&str>,
        bearer: Option<&str>,
    ) -> Result<Reply, Problem> {
        if !scope.alive() {
            return Err(Problem::Network);
        }
        let window = web_sys::window().ok_or(Problem::Network)?;
        let init = web_sys::RequestInit::new();
        init.set_method(match method {
            Method::Get => "GET",
            Method::Post => "POST",
        });
        init.set_signal(scope.signal().as_ref());
        let headers = js_sys::Object::new();
        let header = |name: &str, value: &str| {
            js_sys::Reflect::set(&headers, &name.into(), &value.into())
                .map_err(|_| Problem::Network)
        };
        if let Some(access) = bearer {
            let mut credential = String::from("Bearer ");
            credential.push_str(access);
            header("Authorization", &credential)?;
        }
        if let Some(json) = json {
            header("Content-Type", "application/json")?;
            init.set_body(&json.into());
        }
        init.set_headers(&headers);
        let mut url = String::from(&*self.base);
        url.push_str(path);
        // game.js's early request stands in for the first plain call to its
        // path (see `First`).
        let early = match (bearer, json) {
            (None, None) => self
                .first
                .try_borrow_mut()
                .ok()
                .and_then(|mut first| first.take_if(|f| f.path == path)),
            _ => None,
        };
        // The browser's own fetch, not a wrapper crate's: a few KB less of
        // the bundle. Same-origin credentials, the default: the session
        // cookie on the web, none cross-origin (the AcApp).
        let sent = match early {
            Some(first) => first.response,
            None => window.fetch_with_str_and_init(&url, &init),
        };
        let response: web_sys::Response = JsFuture::from(sent)
            .await
            .ok()
            .and_then(|r| r.dyn_into().ok())
            .ok_or(Problem::Network)?;
        let status = response.status();
        let text = match response.text() {
            Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()),
            Err(_) => None,
        };
        let text = text.ok_or(Problem::Network)?;
        Ok(Reply {
            status,
            body: answer::object(js::parse(&text), js::parse),
        })
    }

    fn keep(self: &Rc<Self>, tokens: Tokens) {
        let delay = refresh::refresh_delay_ms(tokens.expires_in);
        self.refresh_at.set(now_ms() + f64::from(delay));
        if let Ok(mut slot) = self.tokens.try_borrow_mut() {
            *slot = Some(tokens);
        }
        self.root.disarm(Timer::Retry);
        let core = Rc::downgrade(self);
        self.root
            .arm(Timer::Refresh, delay, move || Core::refresh_weak(&core));
    }

    fn forget(&self) {
        if let Ok(mut slot) = self.tokens.try_borrow_mut() {
            *slot = None;
        }
        self.failures.set(0);
        self.refresh_at.set(f64::INFINITY);
        self.root.disarm(Timer::Refresh);
        self.root.disarm(Timer::Retry);
    }

    fn refresh_weak(core: &Weak<Core>) {
        if let Some(core) = core.upgrade() {
            Core::refresh_later(&core);
        }
    }

    /// A refresh nobody waits for (a timer's, a wake-up's).
    fn refresh_later(self: &Rc<Self>) {
        let core = self.clone();
        spawn_local(async move {
            let _ = Core::refresh(&core).await;
        });
    }

    fn refresh(self: &Rc<Self>) -> Landing<Result<(), Problem>> {
        let core = self.clone();
        self.refresh.join(move || Core::renew(core), spawn_local)
    }

    /// The one refresh request, and what its answer means for the session.
    async fn renew(self: Rc<Self>) -> Result<(), Problem> {
        let unauthorized = Problem::Code(ErrorCode::Unauthorized);
        let Some(refresh) = self.refresh_token() else {
            return Err(unauthorized);
        };
        let body = refresh_body(&refresh).ok_or(Problem::BadAnswer)?;
        let reply = self
            .exchange(
                &self.root,
                Method::Post,
                paths::TOKEN_REFRESH,
                Some(&body),
                None,
            )
            .await;
        if !self.root.alive() {
            return Err(Problem::Network);
        }
        // Logged out or in again meanwhile: those tokens are not ours to
        // replace, nor that session ours to end.
        if self.refresh_token().as_deref() != Some(refresh.as_str()) {
            return match self.access() {
                Some(_) => Ok(()),
                None => Err(unauthorized),
            };
        }
        let (status, problem) = match reply {
            Ok(reply) => match reply.read::<Tokens>() {
                Ok(tokens) => {
                    Core::keep(&self, tokens);
                    if self.failures.replace(0) > 0 {
                        self.notify.emit(Notice::Reconnected);
                    }
                    return Ok(());
                }
                Err(problem) => (Some(reply.status), problem),
            },
            Err(problem) => (None, problem),
        };
        match refresh::judge(status, problem) {
            Verdict::Retry => {
                let failures = self.failures.get().saturating_add(1);
                self.failures.set(failures);
                let core = Rc::downgrade(&self);
                self.root
                    .arm(Timer::Retry, refresh::retry_delay_ms(failures), move || {
                        Core::refresh_weak(&core)
                    });
                self.notify.emit(Notice::Reconnecting);
                Err(problem)
            }
            Verdict::Refused(problem) => {
                self.forget();
                self.notify.emit(Notice::SessionEnded(problem));
                Err(problem)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Waker};

    /// Pending the first `n` times it is polled, then `value`; counts its
    /// polls.
    struct Later {
        n: u32,
        polls: Rc<Cell<u32>>,
        value: u32,
    }

    impl Future for Later {
        type Output = u32;
        fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            self.polls.set(self.polls.get() + 1);
            if self.n == 0 {
                Poll::Ready(self.value)
            } else {
                self.n -= 1;
                Poll::Pending
            }
        }
    }

    #[test]
    fn join_starts_both_at_once_and_waits_for_both() {
        let (polls_a, polls_b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let a = Later {
            n: 2,
            polls: polls_a.clone(),
            value: 1,
        };
        let b = Later {
            n: 0,
            polls: polls_b.clone(),
            value: 2,
        };
        let mut both = pin!(join(a, b));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(both.as_mut().poll(&mut cx), Poll::Pending);
        // The first poll started both.
        assert_eq!((polls_a.get(), polls_b.get()), (1, 1));
        assert_eq!(both.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(both.as_mut().poll(&mut cx), Poll::Ready((1, 2)));
        // The one that was done is not polled again.
        assert_eq!((polls_a.get(), polls_b.get()), (3, 1));
    }
}
