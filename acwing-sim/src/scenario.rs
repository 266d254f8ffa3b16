//! Scenarios: what the next N calls of an endpoint answer, set over HTTP
//! (`POST /__sim/scenario`) by a test or a person at the debugger.
//!
//! Everything here arrives from outside, so every number and string has a
//! bound and every mistake a message that names it.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use actix_web::http::header::HeaderValue;
use actix_web::http::StatusCode;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::reply::{Reply, Stop};
use crate::Endpoint;

/// At most this many calls per scenario.
pub const MAX_TIMES: u32 = 10_000;
/// At most this long a delay.
pub const MAX_DELAY_MS: u64 = 60_000;
/// At most this many scenarios waiting per endpoint.
pub const MAX_QUEUED: usize = 100;
/// At most this many scenarios in one request.
pub const MAX_PER_REQUEST: usize = 100;
/// At most this long an errmsg, a location or a content type, in bytes.
const MAX_TEXT: usize = 2048;
/// At most this long a body, in bytes (the request itself is capped at
/// 64 KiB, so this only bites on a body made of escapes).
pub const MAX_BODY: usize = 64 * 1024;

/// How a rejection reaches an AcApp: `callback` hands
/// `{errcode, errmsg}` straight to the callback; `redirect` requests
/// `redirect_uri?errcode&errmsg&state` and hands its answer over.
/// (Which one AcWing does is unconfirmed; the web flow only redirects.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectStyle {
    /// `{errcode, errmsg}` straight to the callback.
    Callback,
    /// A request to `redirect_uri?errcode&errmsg&state`.
    Redirect,
}

/// What a call answers, as the scenario API takes it (`"kind"` names it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutcomeSpec {
    /// As AcWing would; a placeholder so that a later call can differ.
    // (Empty braces, not a unit variant: only these refuse unknown fields.)
    Normal {},
    /// The player agrees, as `openid` (default: the user picked in the page).
    Agree {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        openid: Option<String>,
    },
    /// The player rejects: errcode 40010, "user reject".
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        style: Option<RejectStyle>,
    },
    /// This errcode (a JSON number or string, sent back as given).
    Errcode {
        errcode: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errmsg: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        style: Option<RejectStyle>,
    },
    /// This HTTP status and body: a JSON body as JSON, a string as it is.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
    },
    /// Wait this long, then answer as AcWing would.
    Delay { ms: u64 },
    /// Never answer: the request is held until a reset or 10 minutes, then
    /// its connection closed.
    Hang {},
    /// Close the connection without an answer.
    Drop {},
    /// HTTP 302 to this location.
    Redirect { location: String },
}

/// One scenario as the API takes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// `access_token`, `refresh_token`, `getinfo`, `consent` or `authorize`.
    pub endpoint: String,
    /// How many of the next calls (1 to 10,000; default 1).
    #[serde(default = "one")]
    pub times: u64,
    /// What they answer.
    pub outcome: OutcomeSpec,
}

fn one() -> u64 {
    1
}

/// A checked outcome, ready to apply.
#[derive(Debug, Clone)]
pub enum Outcome {
    Normal,
    Agree {
        openid: Option<String>,
    },
    /// Also a rejection (errcode 40010) and any other errcode delivered to
    /// the app: on the web by redirect, in an AcApp in `style`.
    Errcode {
        errcode: serde_json::Value,
        errmsg: String,
        style: Option<RejectStyle>,
    },
    Status {
        status: StatusCode,
        content_type: String,
        body: String,
    },
    Delay(Duration),
    Hang,
    Drop,
    Redirect(String),
}

/// How long a `hang` holds a request before closing its connection.
pub const HANG: Duration = Duration::from_secs(600);

impl Outcome {
    /// Its kind, as the request log names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Normal => "normal",
            Outcome::Agree { .. } => "agree",
            Outcome::Errcode { errcode, .. } if errcode == "40010" => "reject",
            Outcome::Errcode { .. } => "errcode",
            Outcome::Status { .. } => "status",
            Outcome::Delay(_) => "delay",
            Outcome::Hang => "hang",
            Outcome::Drop => "drop",
            Outcome::Redirect(_) => "redirect",
        }
    }

    /// What the outcomes every endpoint shares do to the HTTP exchange
    /// itself: an answer that replaces AcWing's, or a hold. A delay is
    /// slept here. `None`: the endpoint decides (agree, errcode, normal).
    pub async fn exchange(&self) -> Option<Stop> {
        match self {
            Outcome::Status {
                status,
                content_type,
                body,
            } => Some(Stop::Answer(Reply::Raw {
                status: *status,
                content_type: content_type.clone(),
                body: body.clone(),
            })),
            Outcome::Drop => Some(Stop::Answer(Reply::Dropped)),
            Outcome::Hang => Some(Stop::Hold {
                up_to: HANG,
                then: Reply::Dropped,
            }),
            Outcome::Redirect(location) => Some(Stop::Answer(Reply::Redirect(location.clone()))),
            Outcome::Delay(by) => {
                tokio::time::sleep(*by).await;
                None
            }
            Outcome::Normal | Outcome::Agree { .. } | Outcome::Errcode { .. } => None,
        }
    }
}

/// A scenario the API refused, and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScenarioError {
    #[error("the body is not a scenario or a list of them: {0}")]
    Json(String),
    #[error("at most {MAX_PER_REQUEST} scenarios in one request")]
    TooManyInRequest,
    #[error("no endpoint `{0}`: use access_token, refresh_token, getinfo, consent or authorize")]
    UnknownEndpoint(String),
    #[error("times must be 1 to {MAX_TIMES}, not {0}")]
    Times(u64),
    #[error("{outcome} does not apply to {endpoint}: {why}")]
    NotFor {
        outcome: &'static str,
        endpoint: &'static str,
        why: &'static str,
    },
    #[error("a delay is at most {MAX_DELAY_MS} ms, not {0}")]
    Delay(u64),
    #[error("the status must be 200 to 599, not {0}")]
    Status(u16),
    #[error("errcode must be an integer or a string of 1 to 64 characters")]
    Errcode,
    #[error("{0} is over {MAX_TEXT} bytes")]
    TooLong(&'static str),
    #[error("the body is over {MAX_BODY} bytes")]
    BodyTooLong,
    #[error("{0} is not a valid HTTP header value")]
    NotAHeader(&'static str),
    #[error("no user with openid `{0}`")]
    UnknownUser(String),
    #[error("{endpoint} already has {MAX_QUEUED} scenarios waiting: DELETE /__sim/scenario or POST /__sim/reset")]
    QueueFull { endpoint: &'static str },
}

impl OutcomeSpec {
    fn kind(&self) -> &'static str {
        match self {
            OutcomeSpec::Normal {} => "normal",
            OutcomeSpec::Agree { .. } => "agree",
            OutcomeSpec::Reject { .. } => "reject",
            OutcomeSpec::Errcode { .. } => "errcode",
            OutcomeSpec::Status { .. } => "status",
            OutcomeSpec::Delay { .. } => "delay",
            OutcomeSpec::Hang {} => "hang",
            OutcomeSpec::Drop {} => "drop",
            OutcomeSpec::Redirect { .. } => "redirect",
        }
    }

    /// Checks it for `endpoint`; `known_user` says whether an openid is one.
    fn check(
        &self,
        endpoint: Endpoint,
        known_user: &dyn Fn(&str) -> bool,
    ) -> Result<Outcome, ScenarioError> {
        let not_for = |why| ScenarioError::NotFor {
            outcome: self.kind(),
            endpoint: endpoint.name(),
            why,
        };
        let style_ok = |style: &Option<RejectStyle>| match (endpoint, style) {
            (Endpoint::Consent, Some(RejectStyle::Callback)) => {
                Err(not_for("the web flow has no callback; it always redirects"))
            }
            _ => Ok(*style),
        };
        Ok(match self {
            OutcomeSpec::Normal {} => Outcome::Normal,
            OutcomeSpec::Agree { .. } | OutcomeSpec::Reject { .. } if endpoint.is_api() => {
                return Err(not_for(
                    "only a player agrees or rejects, in consent or authorize",
                ))
            }
            OutcomeSpec::Agree { openid } => {
                if let Some(openid) = openid {
                    if !known_user(openid) {
                        return Err(ScenarioError::UnknownUser(openid.clone()));
                    }
                }
                Outcome::Agree {
                    openid: openid.clone(),
                }
            }
            OutcomeSpec::Reject { style } => Outcome::Errcode {
                errcode: "40010".into(),
                errmsg: "user reject".into(),
                style: style_ok(style)?,
            },
            OutcomeSpec::Errcode {
                errcode,
                errmsg,
                style,
            } => {
                if endpoint.is_api() && style.is_some() {
                    return Err(not_for(
                        "style is for consent and authorize; an API call answers a body",
                    ));
                }
                let errcode = match errcode {
                    serde_json::Value::Number(n) if n.is_i64() => errcode.clone(),
                    serde_json::Value::String(s) if (1..=64).contains(&s.chars().count()) => {
                        errcode.clone()
                    }
                    _ => return Err(ScenarioError::Errcode),
                };
                let errmsg = match errmsg {
                    Some(msg) if msg.len() > MAX_TEXT => {
                        return Err(ScenarioError::TooLong("errmsg"))
                    }
                    Some(msg) => msg.clone(),
                    None => default_errmsg(&errcode).to_owned(),
                };
                Outcome::Errcode {
                    errcode,
                    errmsg,
                    style: style_ok(style)?,
                }
            }
            OutcomeSpec::Status {
                status,
                body,
                content_type,
            } => {
                let status_code = StatusCode::from_u16(*status)
                    .ok()
                    .filter(|_| (200..=599).contains(status))
                    .ok_or(ScenarioError::Status(*status))?;
                let (default_type, body) = match body {
                    None => ("text/plain; charset=utf-8", String::new()),
                    Some(serde_json::Value::String(text)) => {
                        ("text/html; charset=utf-8", text.clone())
                    }
                    Some(json) => ("application/json", json.to_string()),
                };
                if body.len() > MAX_BODY {
                    return Err(ScenarioError::BodyTooLong);
                }
                let content_type = content_type.clone().unwrap_or_else(|| default_type.into());
                header_value("content_type", &content_type)?;
                Outcome::Status {
                    status: status_code,
                    content_type,
                    body,
                }
            }
            OutcomeSpec::Delay { ms } if *ms > MAX_DELAY_MS => {
                return Err(ScenarioError::Delay(*ms))
            }
            OutcomeSpec::Delay { ms } => Outcome::Delay(Duration::from_millis(*ms)),
            OutcomeSpec::Hang {} => Outcome::Hang,
            OutcomeSpec::Drop {} => Outcome::Drop,
            OutcomeSpec::Redirect { .. } if endpoint == Endpoint::Authorize => {
                return Err(not_for(
                    "authorize runs in AcWing's page, with no answer of AcWing's to redirect; \
                     use errcode, reject or status",
                ))
            }
            OutcomeSpec::Redirect { location } => {
                if location.is_empty() {
                    return Err(ScenarioError::NotAHeader("location"));
                }
                header_value("location", location)?;
                Outcome::Redirect(location.clone())
            }
        })
    }
}

fn header_value(what: &'static str, value: &str) -> Result<(), ScenarioError> {
    if value.len() > MAX_TEXT {
        return Err(ScenarioError::TooLong(what));
    }
    HeaderValue::from_str(value)
        .map(|_| ())
        .map_err(|_| ScenarioError::NotAHeader(what))
}

/// AcWing's errmsg for the errcodes the simulator knows, for a scenario
/// that gives none.
fn default_errmsg(errcode: &serde_json::Value) -> &'static str {
    let code = match errcode {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match code.as_str() {
        "40001" => "code expired",
        "40002" => "appid invalid",
        "40003" => "redirect_uri invalid",
        "40004" => "access_token expired",
        "40005" => "scope invalid",
        "40006" => "secret invalid",
        "40007" => "refresh_token expired",
        "40008" => "access_token invalid",
        "40010" => "user reject",
        _ => "error",
    }
}

/// Parses the body of `POST /__sim/scenario`: one scenario or a list.
pub fn parse(
    body: &[u8],
    known_user: &dyn Fn(&str) -> bool,
) -> Result<Vec<(Endpoint, u32, Outcome, ScenarioSpec)>, ScenarioError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<serde_json::Value>),
        One(serde_json::Value),
    }
    let specs = match serde_json::from_slice::<OneOrMany>(body) {
        Ok(OneOrMany::One(one)) => vec![one],
        Ok(OneOrMany::Many(many)) => many,
        Err(e) => return Err(ScenarioError::Json(e.to_string())),
    };
    if specs.len() > MAX_PER_REQUEST {
        return Err(ScenarioError::TooManyInRequest);
    }
    specs
        .into_iter()
        .map(|value| {
            let spec: ScenarioSpec =
                serde_json::from_value(value).map_err(|e| ScenarioError::Json(e.to_string()))?;
            let endpoint = Endpoint::parse(&spec.endpoint)
                .ok_or_else(|| ScenarioError::UnknownEndpoint(spec.endpoint.clone()))?;
            let times = u32::try_from(spec.times)
                .ok()
                .filter(|t| (1..=MAX_TIMES).contains(t))
                .ok_or(ScenarioError::Times(spec.times))?;
            let outcome = spec.outcome.check(endpoint, known_user)?;
            Ok((endpoint, times, outcome, spec))
        })
        .collect()
}

/// A scenario waiting for calls.
#[derive(Debug, Clone)]
struct Queued {
    remaining: u32,
    outcome: Outcome,
    spec: OutcomeSpec,
}

/// A waiting scenario as `GET /__sim/scenario` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub endpoint: &'static str,
    pub remaining: u32,
    pub outcome: OutcomeSpec,
}

/// The scenarios waiting, per endpoint, first come first served.
#[derive(Default)]
pub struct Scenarios {
    queues: Mutex<HashMap<Endpoint, VecDeque<Queued>>>,
}

impl Scenarios {
    /// Queues them all, or none if one endpoint's queue would overflow.
    pub fn push(
        &self,
        scenarios: Vec<(Endpoint, u32, Outcome, ScenarioSpec)>,
    ) -> Result<(), ScenarioError> {
        let mut queues = self.queues.lock();
        for endpoint in Endpoint::ALL {
            let adding = scenarios.iter().filter(|s| s.0 == endpoint).count();
            let queued = queues.get(&endpoint).map_or(0, VecDeque::len);
            if queued + adding > MAX_QUEUED {
                return Err(ScenarioError::QueueFull {
                    endpoint: endpoint.name(),
                });
            }
        }
        for (endpoint, times, outcome, spec) in scenarios {
            queues.entry(endpoint).or_default().push_back(Queued {
                remaining: times,
                outcome,
                spec: spec.outcome,
            });
        }
        Ok(())
    }

    /// The outcome of this call, if a scenario decides it.
    pub fn take(&self, endpoint: Endpoint) -> Option<Outcome> {
        let mut queues = self.queues.lock();
        let queue = queues.get_mut(&endpoint)?;
        let front = queue.front_mut()?;
        front.remaining -= 1;
        let outcome = front.outcome.clone();
        if front.remaining == 0 {
            queue.pop_front();
        }
        Some(outcome)
    }

    /// Every scenario still waiting, per endpoint in order.
    pub fn pending(&self) -> Vec<Pending> {
        let queues = self.queues.lock();
        Endpoint::ALL
            .into_iter()
            .flat_map(|endpoint| {
                queues
                    .get(&endpoint)
                    .into_iter()
                    .flatten()
                    .map(move |q| Pending {
                        endpoint: endpoint.name(),
                        remaining: q.remaining,
                        outcome: q.spec.clone(),
                    })
            })
            .collect()
    }

    /// Forgets them all.
    pub fn clear(&self) {
        self.queues.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<Vec<(Endpoint, u32, Outcome, ScenarioSpec)>, ScenarioError> {
        parse(body.as_bytes(), &|openid| openid == "openid-yxc")
    }

    #[test]
    fn one_scenario_or_a_list() {
        let one = parsed(r#"{"endpoint":"getinfo","outcome":{"kind":"hang"}}"#).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].0, one[0].1), (Endpoint::GetInfo, 1));
        let two = parsed(
            r#"[{"endpoint":"consent","times":3,"outcome":{"kind":"reject"}},
                {"endpoint":"authorize","outcome":{"kind":"agree","openid":"openid-yxc"}}]"#,
        )
        .unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].1, 3);
    }

    #[test]
    fn every_mistake_is_named() {
        let cases = [
            ("[1", "not a scenario"),
            (
                r#"{"endpoint":"x","outcome":{"kind":"hang"}}"#,
                "no endpoint `x`",
            ),
            (
                r#"{"endpoint":"getinfo","times":0,"outcome":{"kind":"hang"}}"#,
                "times must be",
            ),
            (
                r#"{"endpoint":"getinfo","times":10001,"outcome":{"kind":"hang"}}"#,
                "times must be",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"reject"}}"#,
                "does not apply",
            ),
            (
                r#"{"endpoint":"consent","outcome":{"kind":"reject","style":"callback"}}"#,
                "always redirects",
            ),
            (
                r#"{"endpoint":"authorize","outcome":{"kind":"redirect","location":"/x"}}"#,
                "does not apply",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"delay","ms":60001}}"#,
                "at most 60000",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"status","status":99}}"#,
                "200 to 599",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"status","status":700}}"#,
                "200 to 599",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"errcode","errcode":1.5}}"#,
                "integer or a string",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"errcode","errcode":""}}"#,
                "integer or a string",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"errcode","errcode":1,"style":"redirect"}}"#,
                "style is for",
            ),
            (
                r#"{"endpoint":"consent","outcome":{"kind":"redirect","location":"a\nb"}}"#,
                "header value",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"status","status":500,"content_type":"a\u0000"}}"#,
                "header value",
            ),
            (
                r#"{"endpoint":"authorize","outcome":{"kind":"agree","openid":"nobody"}}"#,
                "no user",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"hang","extra":1}}"#,
                "unknown field",
            ),
            (
                r#"{"endpoint":"getinfo","outcome":{"kind":"explode"}}"#,
                "unknown variant",
            ),
        ];
        for (body, expected) in cases {
            let error = parsed(body).unwrap_err().to_string();
            assert!(error.contains(expected), "{body}: {error}");
        }
        let many = format!(
            "[{}]",
            vec![r#"{"endpoint":"getinfo","outcome":{"kind":"hang"}}"#; 101].join(",")
        );
        assert_eq!(parsed(&many).unwrap_err(), ScenarioError::TooManyInRequest);
    }

    #[test]
    fn calls_take_outcomes_in_order_and_queues_are_bounded() {
        let scenarios = Scenarios::default();
        scenarios
            .push(
                parsed(
                    r#"[{"endpoint":"getinfo","times":2,"outcome":{"kind":"errcode","errcode":40004}},
                        {"endpoint":"getinfo","outcome":{"kind":"drop"}}]"#,
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(scenarios.pending()[0].remaining, 2);
        assert!(
            matches!(scenarios.take(Endpoint::GetInfo), Some(Outcome::Errcode { ref errmsg, .. }) if errmsg == "access_token expired")
        );
        assert!(matches!(
            scenarios.take(Endpoint::GetInfo),
            Some(Outcome::Errcode { .. })
        ));
        assert!(matches!(
            scenarios.take(Endpoint::GetInfo),
            Some(Outcome::Drop)
        ));
        assert!(scenarios.take(Endpoint::GetInfo).is_none());
        assert!(scenarios.take(Endpoint::AccessToken).is_none());

        let hundred = format!(
            "[{}]",
            vec![r#"{"endpoint":"consent","outcome":{"kind":"hang"}}"#; 100].join(",")
        );
        scenarios.push(parsed(&hundred).unwrap()).unwrap();
        let error = scenarios
            .push(parsed(r#"{"endpoint":"consent","outcome":{"kind":"hang"}}"#).unwrap())
            .unwrap_err();
        assert_eq!(
            error,
            ScenarioError::QueueFull {
                endpoint: "consent"
            }
        );
        scenarios.clear();
        assert!(scenarios.pending().is_empty());
    }
}
