//! The load generator: whole web logins (apply_code, the simulator's
//! authorize, receive_code), many in flight, each timed end to end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header;
use serde::Deserialize;

use crate::stack::{Stack, APPID};

/// Who logs in: players the server has never seen, or ones it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Players {
    New,
    Returning,
}

impl Players {
    /// A new player costs AcWing two round trips (token, getinfo); a
    /// returning one only the token exchange.
    pub fn round_trips(self) -> u64 {
        match self {
            Players::New => 2,
            Players::Returning => 1,
        }
    }
}

/// How long a cell runs and how many logins it may start at most.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub duration: Duration,
    pub max_logins: u64,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies: Vec<Duration>,
    /// Each step's latencies, in `STEPS`' order, for logins that succeeded.
    pub steps: [Vec<Duration>; 3],
    pub errors: u64,
    /// The first few errors' messages.
    pub error_samples: Vec<String>,
    pub elapsed: Duration,
}

pub fn client(max_in_flight: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(max_in_flight)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a plain HTTP client builds")
}

#[derive(Deserialize)]
struct ApplyCode {
    apply_code_url: String,
}

/// `name=value` of the first Set-Cookie named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(name))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::LOCATION)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Error messages kept per cell.
const ERROR_SAMPLES: usize = 5;

/// A web login's steps, as `Outcome::steps` orders them.
pub const STEPS: [&str; 3] = ["apply_code", "authorize", "receive_code"];

/// One whole web login as a browser does it; `Err` says which step failed.
/// On success, how long each of `STEPS` took.
pub async fn web_login(
    client: &reqwest::Client,
    stack: &Stack,
    openid: &str,
) -> Result<[Duration; 3], String> {
    let started = Instant::now();
    let apply = client
        .get(format!(
            "{}/settings/acwing/web/apply_code/",
            stack.backend_url
        ))
        .send()
        .await
        .map_err(|e| format!("apply_code: {e}"))?;
    if !apply.status().is_success() {
        return Err(format!("apply_code: HTTP {}", apply.status()));
    }
    let binding = cookie(&apply, "acapp_login_browser").ok_or("apply_code: no binding cookie")?;
    let body: ApplyCode = apply.json().await.map_err(|e| format!("apply_code: {e}"))?;
    let applied = Instant::now();
    let url = url::Url::parse(&body.apply_code_url).map_err(|e| e.to_string())?;
    let param = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let form = [
        ("appid", APPID.to_owned()),
        ("redirect_uri", param("redirect_uri")),
        ("scope", param("scope")),
        ("state", param("state")),
        ("openid", openid.to_owned()),
        ("decision", "agree".to_owned()),
    ];
    let consent = client
        .post(format!(
            "{}/third_party/api/oauth2/web/authorize/",
            stack.sim_url
        ))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("authorize: {e}"))?;
    let callback = location(&consent).ok_or("authorize: no redirect")?;
    let consented = Instant::now();
    let done = client
        .get(callback)
        .header(header::COOKIE, binding)
        .send()
        .await
        .map_err(|e| format!("receive_code: {e}"))?;
    match location(&done).as_deref() {
        Some("/") if cookie(&done, "acapp_session").is_some() => {
            Ok([applied - started, consented - applied, consented.elapsed()])
        }
        other => Err(format!("receive_code: redirected to {other:?}")),
    }
}

/// Runs `in_flight` login loops until the bounds are reached.
///
/// The loops start spread evenly over `spread` (a login's time upstream),
/// as players' logins are spread in time. Started together, with an
/// upstream whose latency never varies, they would stay in step for the
/// whole cell: every login's work would arrive in one burst per round
/// trip, each waiting for the burst's others, and the cores would idle
/// between bursts. That measured the generator's lockstep, not the server.
pub async fn run(
    stack: &Arc<Stack>,
    players: Players,
    in_flight: usize,
    bounds: Bounds,
    spread: Duration,
    returning_pool: &Arc<Vec<String>>,
    run_id: &str,
) -> Outcome {
    let client = client(in_flight);
    let started = Instant::now();
    let deadline = started + bounds.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(in_flight);
    for nth in 0..in_flight {
        let offset = spread.mul_f64(nth as f64 / in_flight as f64);
        let (client, stack, issued, pool) = (
            client.clone(),
            stack.clone(),
            issued.clone(),
            returning_pool.clone(),
        );
        let run_id = run_id.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut mine = Outcome::default();
            tokio::time::sleep(offset).await;
            while Instant::now() < deadline {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= bounds.max_logins {
                    break;
                }
                let openid = match players {
                    Players::New => format!("new-{run_id}-{n}"),
                    Players::Returning => pool[(n as usize) % pool.len()].clone(),
                };
                let t = Instant::now();
                match web_login(&client, &stack, &openid).await {
                    Ok(steps) => {
                        mine.latencies.push(t.elapsed());
                        for (all, step) in mine.steps.iter_mut().zip(steps) {
                            all.push(step);
                        }
                    }
                    Err(error) => {
                        mine.errors += 1;
                        if mine.error_samples.len() < ERROR_SAMPLES {
                            mine.error_samples.push(error);
                        }
                    }
                }
            }
            mine
        }));
    }
    let mut outcome = Outcome::default();
    for task in tasks {
        if let Ok(mine) = task.await {
            outcome.latencies.extend(mine.latencies);
            for (all, step) in outcome.steps.iter_mut().zip(mine.steps) {
                all.extend(step);
            }
            outcome.errors += mine.errors;
            let room = ERROR_SAMPLES.saturating_sub(outcome.error_samples.len());
            outcome
                .error_samples
                .extend(mine.error_samples.into_iter().take(room));
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// Requests per second of a plain GET at `in_flight`, for `duration`.
pub async fn throughput(url: &str, in_flight: usize, duration: Duration, max: u64) -> f64 {
    let client = client(in_flight);
    let started = Instant::now();
    let deadline = started + duration;
    let done = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, done, issued, url) =
            (client.clone(), done.clone(), issued.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                if let Ok(response) = client.get(&url).send().await {
                    if response.status().is_success() && response.bytes().await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
