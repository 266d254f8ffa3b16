//! The request log: the last calls of AcWing's endpoints, what they
//! answered, and the codes and tokens they issued, for `GET /__sim/log`
//! and the debugger page.
//!
//! The secret is never kept: the token exchange's `secret` parameter is
//! replaced by whether it matched.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

use crate::reply::{excerpt, Answered, Reply};

/// How many calls the log keeps; older ones are dropped.
pub const CAPACITY: usize = 200;
/// How many parameters of one call it keeps.
const MAX_PARAMS: usize = 16;
/// How much of a parameter's name and value it keeps, in characters.
const MAX_PARAM_CHARS: usize = 256;

/// One call, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Counts up from 1 since the start or the last reset.
    pub id: u64,
    /// When it was answered, in milliseconds since the Unix epoch (the
    /// machine's clock, not the simulator's).
    pub at_ms: u64,
    /// How far the simulator's clock had been moved forward, in seconds.
    pub clock_offset_secs: u64,
    /// `access_token`, `refresh_token`, `getinfo`, `consent`, `authorize`
    /// or `code` (the simulator's own code for the AcApp window).
    pub endpoint: &'static str,
    /// What was asked: `GET`, `POST`, or for authorize the step.
    pub method: &'static str,
    /// The parameters, the secret masked, long values cut.
    pub params: Vec<(String, String)>,
    /// The scenario that decided the answer, if one did (its kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<&'static str>,
    /// What was answered.
    pub answer: Answered,
    /// What was issued.
    #[serde(skip_serializing_if = "Issued::is_empty")]
    pub issued: Issued,
}

/// Codes and tokens a call issued.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Issued {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

impl Issued {
    fn is_empty(&self) -> bool {
        self.code.is_none()
            && self.access_token.is_none()
            && self.refresh_token.is_none()
            && self.openid.is_none()
    }
}

/// A call being answered: what the handler fills in before it is logged.
#[derive(Debug)]
pub struct Call {
    pub endpoint: &'static str,
    pub method: &'static str,
    pub params: Vec<(String, String)>,
    pub scenario: Option<&'static str>,
    pub issued: Issued,
}

impl Call {
    /// A call with these parameters. `secret` is the simulator's secret,
    /// so that the log can say whether the caller's matched without keeping
    /// either, and hide it wherever else a caller put it.
    pub fn new<'a>(
        endpoint: &'static str,
        method: &'static str,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        secret: &str,
    ) -> Call {
        let params = params
            .into_iter()
            .take(MAX_PARAMS)
            .map(|(name, value)| {
                let value = match name {
                    "secret" if value == secret => "(hidden; it matches)".to_owned(),
                    "secret" => "(hidden; it does not match)".to_owned(),
                    _ if !secret.is_empty() && value.contains(secret) => {
                        "(hidden; it holds the secret)".to_owned()
                    }
                    _ => cut(value),
                };
                (cut(name), value)
            })
            .collect();
        Call {
            endpoint,
            method,
            params,
            scenario: None,
            issued: Issued::default(),
        }
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_PARAM_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The last [`CAPACITY`] calls.
#[derive(Default)]
pub struct RequestLog {
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    next_id: u64,
    entries: VecDeque<Entry>,
}

impl RequestLog {
    /// Logs `call` as answered with `reply`.
    pub fn record(&self, call: Call, reply: &Reply, clock_offset_secs: u64) {
        self.record_answer(call, reply.answered(), clock_offset_secs);
    }

    /// Logs `call` as answered in some way a [`Reply`] does not describe
    /// (a request held by a hang).
    pub fn record_answer(&self, call: Call, answer: Answered, clock_offset_secs: u64) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut state = self.state.lock();
        state.next_id += 1;
        let entry = Entry {
            id: state.next_id,
            at_ms,
            clock_offset_secs,
            endpoint: call.endpoint,
            method: call.method,
            params: call.params,
            scenario: call.scenario,
            answer: Answered {
                status: answer.status,
                summary: excerpt(&answer.summary),
            },
            issued: call.issued,
        };
        if state.entries.len() == CAPACITY {
            state.entries.pop_front();
        }
        state.entries.push_back(entry);
    }

    /// The calls kept, newest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.state.lock().entries.iter().rev().cloned().collect()
    }

    /// Forgets every call, and counts from 1 again.
    pub fn clear(&self) {
        *self.state.lock() = LogState::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_kept_only_whether_it_matched() {
        let log = RequestLog::default();
        let call = Call::new(
            "access_token",
            "GET",
            [("appid", "1000"), ("secret", "s3cret"), ("code", "c")],
            "s3cret",
        );
        log.record(call, &Reply::ok(serde_json::json!({})), 0);
        let wrong = Call::new("access_token", "GET", [("secret", "guess")], "s3cret");
        log.record(wrong, &Reply::ok(serde_json::json!({})), 0);
        let elsewhere = Call::new("getinfo", "GET", [("openid", "xs3cretx")], "s3cret");
        log.record(elsewhere, &Reply::ok(serde_json::json!({})), 0);
        let json = serde_json::to_string(&log.entries()).unwrap();
        assert!(
            !json.contains("s3cret") && !json.contains("guess"),
            "{json}"
        );
        assert!(json.contains("it matches") && json.contains("it does not match"));
        assert!(json.contains("it holds the secret"));
    }

    #[test]
    fn it_keeps_the_last_calls_newest_first() {
        let log = RequestLog::default();
        for i in 0..(CAPACITY + 5) {
            let value = i.to_string();
            let call = Call::new("getinfo", "GET", [("n", value.as_str())], "s");
            log.record(call, &Reply::Dropped, 0);
        }
        let entries = log.entries();
        assert_eq!(entries.len(), CAPACITY);
        assert_eq!(entries[0].id, (CAPACITY + 5) as u64);
        assert_eq!(entries[CAPACITY - 1].id, 6);
        log.clear();
        assert!(log.entries().is_empty());
    }

    #[test]
    fn long_and_many_parameters_are_cut() {
        let long = "x".repeat(10_000);
        let many: Vec<(&str, &str)> = (0..100).map(|_| ("k", long.as_str())).collect();
        let call = Call::new("getinfo", "GET", many, "s");
        assert_eq!(call.params.len(), MAX_PARAMS);
        assert!(call.params[0].1.chars().count() <= MAX_PARAM_CHARS + 1);
    }
}
