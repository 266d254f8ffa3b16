//! Reading answers from the page and the network without trusting them.
//!
//! Nothing here can panic: every field is optional until checked, and a
//! value of the wrong shape becomes a [`Problem`]. The logic is generic over
//! [`Fields`] so that it runs natively in unit tests (on `serde_json`
//! values) and in the browser (on `JsValue`s, with no JSON parser of our own
//! in the bundle: the browser's `JSON.parse` does that work).

use shared::ErrorCode;

use crate::problem::Problem;

/// Read access to one JSON-like object.
pub trait Fields: Sized {
    /// The value at `key` if it is a string.
    fn text(&self, key: &str) -> Option<String>;
    /// The value at `key` if it is a number.
    fn number(&self, key: &str) -> Option<f64>;
}

/// What a callback or a response body turned out to be.
pub enum Shape<O> {
    /// `undefined` or `null`: nothing at all.
    Missing,
    /// A string, which may hold JSON.
    Text(String),
    Object(O),
    /// A number, a boolean, an array…
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    pub username: String,
    pub photo: String,
}

/// Our own credentials inside the AcApp, held in memory only: the page's
/// storage and cookies belong to acwing.com.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcAppLogin {
    pub player: Player,
    pub tokens: Tokens,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcAppApply {
    pub appid: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
}

/// A success body read into a type: what `Api::get` and `Api::post` give.
/// The API handle has checked `"result":"success"` (and turned an error
/// body into its [`Problem`]) before `read` runs; `read` takes the fields
/// it needs and must not panic, whatever they hold.
pub trait FromBody: Sized {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem>;
}

/// A body with nothing but `"result":"success"` (logout's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done;

impl FromBody for Done {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        success(o).map(|()| Done)
    }
}

/// Where the web flow sends the browser (AcWing's authorize page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyCodeUrl(pub String);

impl FromBody for ApplyCodeUrl {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        web_apply(o).map(ApplyCodeUrl)
    }
}

impl FromBody for AcAppApply {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        acapp_apply(o)
    }
}

impl FromBody for Player {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        player(o)
    }
}

impl FromBody for Tokens {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        tokens(o)
    }
}

/// Required text: a missing or non-string field is a [`Problem::BadAnswer`].
pub fn need<O: Fields>(o: &O, key: &str) -> Result<String, Problem> {
    o.text(key).ok_or(Problem::BadAnswer)
}

/// The object inside `shape`: a string is parsed as JSON with `parse`.
pub fn object<O>(shape: Shape<O>, parse: impl Fn(&str) -> Shape<O>) -> Option<O> {
    match shape {
        Shape::Object(object) => Some(object),
        Shape::Text(text) => match parse(&text) {
            Shape::Object(object) => Some(object),
            _ => None,
        },
        Shape::Missing | Shape::Other => None,
    }
}

/// AcWing's errcode, a number in some answers and a string in others.
fn errcode<O: Fields>(o: &O) -> Option<String> {
    let code = o
        .text("errcode")
        .or_else(|| o.number("errcode").map(|n| (n as i64).to_string()))?;
    // Some APIs say `errcode: 0` for success; AcWing's success bodies have none.
    (code.trim() != "0").then_some(code)
}

fn from_errcode(code: &str) -> ErrorCode {
    match code.trim() {
        "40010" => ErrorCode::UserRejected,
        "40001" => ErrorCode::CodeExpired,
        "-1" => ErrorCode::Busy,
        _ => ErrorCode::AcwingError,
    }
}

/// Checks the `result` tag of one of our bodies, or AcWing's errcode.
pub fn success<O: Fields>(o: &O) -> Result<(), Problem> {
    if let Some(code) = errcode(o) {
        return Err(Problem::Code(from_errcode(&code)));
    }
    match o.text("result").as_deref() {
        Some("success") => Ok(()),
        Some("error") => Err(Problem::Code(
            o.text("error")
                .and_then(|e| e.parse().ok())
                .unwrap_or(ErrorCode::Internal),
        )),
        _ => Err(Problem::BadAnswer),
    }
}

/// Seconds, as a whole non-negative number of them.
fn seconds<O: Fields>(o: &O, key: &str) -> Result<u64, Problem> {
    match o.number(key) {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n as u64),
        _ => Err(Problem::BadAnswer),
    }
}

pub fn player<O: Fields>(o: &O) -> Result<Player, Problem> {
    success(o)?;
    Ok(Player {
        username: need(o, "username")?,
        photo: o.text("photo").unwrap_or_default(),
    })
}

pub fn tokens<O: Fields>(o: &O) -> Result<Tokens, Problem> {
    success(o)?;
    Ok(Tokens {
        access: need(o, "access")?,
        refresh: need(o, "refresh")?,
        expires_in: seconds(o, "expires_in")?,
    })
}

pub fn acapp_login<O: Fields>(o: &O) -> Result<AcAppLogin, Problem> {
    Ok(AcAppLogin {
        player: player(o)?,
        tokens: tokens(o)?,
    })
}

pub fn acapp_apply<O: Fields>(o: &O) -> Result<AcAppApply, Problem> {
    success(o)?;
    Ok(AcAppApply {
        appid: need(o, "appid")?,
        redirect_uri: need(o, "redirect_uri")?,
        scope: need(o, "scope")?,
        state: need(o, "state")?,
    })
}

pub fn web_apply<O: Fields>(o: &O) -> Result<String, Problem> {
    success(o)?;
    need(o, "apply_code_url")
}

/// What AcWing's `authorize` callback handed us, whatever its shape: our
/// receive_code answer as an object or a JSON string, AcWing's own
/// `{errcode, errmsg}` (with or without `result`), or nothing at all.
pub fn acapp_callback<O: Fields>(
    shape: Shape<O>,
    parse: impl Fn(&str) -> Shape<O>,
) -> Result<AcAppLogin, Problem> {
    let o = object(shape, parse).ok_or(Problem::BadAnswer)?;
    acapp_login(&o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    impl Fields for Value {
        fn text(&self, key: &str) -> Option<String> {
            self.get(key)?.as_str().map(str::to_owned)
        }
        fn number(&self, key: &str) -> Option<f64> {
            self.get(key)?.as_f64()
        }
    }

    fn shape(value: Value) -> Shape<Value> {
        match value {
            Value::Null => Shape::Missing,
            Value::String(s) => Shape::Text(s),
            Value::Object(_) => Shape::Object(value),
            _ => Shape::Other,
        }
    }

    fn parse(text: &str) -> Shape<Value> {
        serde_json::from_str(text).map_or(Shape::Other, shape)
    }

    fn callback(value: Value) -> Result<AcAppLogin, Problem> {
        acapp_callback(shape(value), parse)
    }

    fn success_body() -> Value {
        json!({"result": "success", "username": "yxc", "photo": "https://a/p.png",
               "access": "a1", "refresh": "r1", "expires_in": 900})
    }

    #[test]
    fn a_success_object_logs_in() {
        let login = callback(success_body()).unwrap();
        assert_eq!(login.player.username, "yxc");
        assert_eq!(login.player.photo, "https://a/p.png");
        assert_eq!(
            login.tokens,
            Tokens {
                access: "a1".into(),
                refresh: "r1".into(),
                expires_in: 900
            }
        );
    }

    #[test]
    fn a_json_string_is_parsed_like_an_object() {
        let text = success_body().to_string();
        assert_eq!(callback(Value::String(text)), callback(success_body()));
    }

    #[test]
    fn nothing_at_all_is_a_bad_answer() {
        // `undefined` and `null` both arrive as `Missing`.
        assert_eq!(
            acapp_callback(Shape::<Value>::Missing, parse),
            Err(Problem::BadAnswer)
        );
        assert_eq!(callback(Value::Null), Err(Problem::BadAnswer));
        assert_eq!(callback(json!(42)), Err(Problem::BadAnswer));
        assert_eq!(callback(json!([1, 2])), Err(Problem::BadAnswer));
        assert_eq!(callback(json!("garbage")), Err(Problem::BadAnswer));
        assert_eq!(callback(json!("\"a string\"")), Err(Problem::BadAnswer));
        assert_eq!(callback(json!({})), Err(Problem::BadAnswer));
    }

    #[test]
    fn acwing_errcodes_as_strings_or_numbers_with_or_without_result() {
        let rejected = Err(Problem::Code(ErrorCode::UserRejected));
        assert_eq!(
            callback(json!({"errcode": "40010", "errmsg": "user reject"})),
            rejected
        );
        assert_eq!(
            callback(json!({"errcode": 40010, "errmsg": "user reject"})),
            rejected
        );
        assert_eq!(
            callback(json!({"result": "error", "errcode": "40010", "errmsg": "x"})),
            rejected
        );
        assert_eq!(
            callback(json!(r#"{"errcode":"40010","errmsg":"user reject"}"#)),
            rejected
        );
        assert_eq!(
            callback(json!({"errcode": 40001, "errmsg": "code expired"})),
            Err(Problem::Code(ErrorCode::CodeExpired))
        );
        assert_eq!(
            callback(json!({"errcode": "40004"})),
            Err(Problem::Code(ErrorCode::AcwingError))
        );
    }

    #[test]
    fn our_error_bodies_carry_their_code() {
        assert_eq!(
            callback(json!({"result": "error", "error": "invalid_state", "message": "x"})),
            Err(Problem::Code(ErrorCode::InvalidState))
        );
        assert_eq!(
            callback(json!({"result": "error", "error": "no_such_code"})),
            Err(Problem::Code(ErrorCode::Internal))
        );
        assert_eq!(
            callback(json!({"result": "error"})),
            Err(Problem::Code(ErrorCode::Internal))
        );
    }

    #[test]
    fn a_success_with_missing_or_wrong_fields_is_a_bad_answer() {
        for key in ["username", "access", "refresh", "expires_in"] {
            let mut body = success_body();
            body.as_object_mut().unwrap().remove(key);
            assert_eq!(callback(body), Err(Problem::BadAnswer), "{key}");
        }
        let mut body = success_body();
        body["expires_in"] = json!(-1);
        assert_eq!(callback(body), Err(Problem::BadAnswer));
        let mut body = success_body();
        body["username"] = json!(7);
        assert_eq!(callback(body), Err(Problem::BadAnswer));
        let mut body = success_body();
        body["result"] = json!("maybe");
        assert_eq!(callback(body), Err(Problem::BadAnswer));
    }

    #[test]
    fn a_missing_photo_is_empty_not_an_error() {
        let mut body = success_body();
        body.as_object_mut().unwrap().remove("photo");
        assert_eq!(callback(body).unwrap().player.photo, "");
    }

    #[test]
    fn api_bodies() {
        let apply = json!({"result": "success", "appid": "1", "redirect_uri": "u",
                           "scope": "userinfo", "state": "s"});
        assert_eq!(acapp_apply(&apply).unwrap().state, "s");
        assert_eq!(
            web_apply(&json!({"result": "success", "apply_code_url": "https://x"})),
            Ok("https://x".into())
        );
        assert_eq!(
            player(&json!({"result": "error", "error": "unauthorized"})),
            Err(Problem::Code(ErrorCode::Unauthorized))
        );
        assert_eq!(
            tokens(&json!({"result": "success", "access": "a", "refresh": "r", "expires_in": 5.0}))
                .unwrap()
                .expires_in,
            5
        );
    }

    /// Every body the backend sends, as `shared` serialises it: renaming a
    /// field there fails here, not in a player's window.
    #[test]
    fn the_shared_api_types_read_back() {
        use shared::api::{
            AcAppApplyCode, AcAppLogin as Login, ErrorBody, PlayerInfo, RefreshResponse, Success,
            WebApplyCode,
        };
        let apply = body(&AcAppApplyCode {
            result: Success::Success,
            appid: "4242".into(),
            redirect_uri: "https%3A%2F%2Fapp.example%2F".into(),
            scope: "userinfo".into(),
            state: "s".repeat(32),
        });
        let read = acapp_apply(&apply).unwrap();
        assert_eq!(
            (read.appid.as_str(), read.scope.as_str(), read.state.len()),
            ("4242", "userinfo", 32)
        );
        let web = body(&WebApplyCode {
            result: Success::Success,
            apply_code_url: "https://www.acwing.com/x".into(),
        });
        assert_eq!(web_apply(&web), Ok("https://www.acwing.com/x".into()));
        let login = body(&Login {
            result: Success::Success,
            username: "yxc".into(),
            photo: "https://cdn.acwing.com/p.png".into(),
            access: "a".repeat(64),
            refresh: "r".repeat(64),
            expires_in: 900,
        });
        let read = callback(login).unwrap();
        assert_eq!(read.player.username, "yxc");
        assert_eq!(read.tokens.expires_in, 900);
        assert_eq!(read.tokens.refresh, "r".repeat(64));
        let me = body(&PlayerInfo {
            result: Success::Success,
            username: "yxc".into(),
            photo: String::new(),
        });
        assert_eq!(player(&me).unwrap().username, "yxc");
        let fresh = body(&RefreshResponse {
            result: Success::Success,
            access: "b".repeat(64),
            refresh: "c".repeat(64),
            expires_in: 60,
        });
        assert_eq!(tokens(&fresh).unwrap().access, "b".repeat(64));
        assert_eq!(Tokens::read(&fresh), tokens(&fresh));
        assert_eq!(Player::read(&me), player(&me));
        assert_eq!(Done::read(&body(&shared::api::Done::default())), Ok(Done));
        assert_eq!(
            ApplyCodeUrl::read(&web),
            Ok(ApplyCodeUrl("https://www.acwing.com/x".into()))
        );
        assert_eq!(AcAppApply::read(&apply).map(|a| a.appid), Ok("4242".into()));
        for code in ErrorCode::ALL {
            let refused = body(&ErrorBody::new(code, "m"));
            assert_eq!(player(&refused), Err(Problem::Code(code)), "{code}");
            assert_eq!(Done::read(&refused), Err(Problem::Code(code)), "{code}");
        }
    }

    /// A `shared` body, as the JSON the browser receives.
    fn body<T: serde::Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap()
    }
}
