//! One IPv6 network cannot churn every pending login out of the state
//! store: an IPv6 client is counted per /64, /56 and /48, each with its
//! own share of the cap (`state_store::StateShares`). Against the real
//! server over loopback, with the in-process store and with Redis; the
//! flood is bounded in count and time.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::support::{spawn_with, Options, StoreUrls, TestApp};
use backend::client_ip::{state_networks, TrustedProxies};
use backend::config::LimitSettings;
use backend::login::state::{issue_for, Flow, RedisStateStore, StateShares, StoreError};
use backend::rate::Rate;
use backend::secret::random_hex;
use futures::stream::{self, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use testkit::services::shared_redis;

const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
/// The flood: this many /64s of one /48, each asking this many times.
const FLOOD_64S: u16 = 120;
const PER_64: usize = 45;
const CAP: usize = 2_000;
/// The whole scenario, server start to the last assert.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// `ACAPP_STATE_CAP=2000`, loopback as the trusted proxy (so that
/// `X-Forwarded-For` stands for many clients), and rate limits that let
/// every /64 ask its 45 times: only the state shares refuse anything.
fn limits() -> LimitSettings {
    LimitSettings {
        state_cap: CAP,
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        apply_code: Rate::of(60_000, 1_000),
        receive_code: Rate::of(60_000, 1_000),
        ..LimitSettings::default()
    }
}

/// The `n`th /64 of the flooding /48 2001:db8:a::/48, each in a /56 of its
/// own, so that only the /48's share can stop them.
fn flooder(n: u16, host: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xa, n << 8, 0, 0, 0, host + 1))
}

/// A browser (cookies, no redirects) whose requests come, by the trusted
/// proxy's word, from `client`.
fn browser_at(client: IpAddr) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&client.to_string()).unwrap();
    headers.insert("x-forwarded-for", value);
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Starts a web login from another network, floods apply_code from 120
/// /64s of one /48, then finishes that login.
async fn a_flood_from_one_48_leaves_another_networks_login_alone(app: TestApp) {
    let started = Instant::now();
    let shares = StateShares::of_cap(limits().state_cap);
    assert_eq!(
        (shares.per_client, shares.per_56, shares.per_48),
        (40, 100, 200)
    );

    // A player in another /48 is on AcWing's consent page.
    let player = browser_at("2001:db8:b:1::7".parse().unwrap());
    let apply = app.web_apply(&player).await;

    // The flood, round the /64s in turn, 64 requests at a time over one
    // connection pool.
    let flood = reqwest::Client::new();
    let requests = (0..PER_64 as u16).flat_map(|i| (0..FLOOD_64S).map(move |n| flooder(n, i)));
    let answers: Vec<(u16, Value)> = stream::iter(requests)
        .map(|client| {
            let (flood, url) = (flood.clone(), app.url(APPLY_ACAPP));
            async move {
                let response = flood
                    .get(url)
                    .header("X-Forwarded-For", client.to_string())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json().await.unwrap())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let ok = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 429 && body["error"] == "rate_limited")
        .count();
    println!(
        "{} apply_codes from {FLOOD_64S} /64s of one /48 in {:?}: {ok} answered, {refused} refused",
        answers.len(),
        started.elapsed()
    );
    // Each /64 could hold 40 and each /56 100: the /48's 200 is what
    // stopped them, and everything past it was 429 rate_limited.
    assert_eq!(ok, shares.per_48, "the /48's share, and no more");
    assert_eq!(ok + refused, FLOOD_64S as usize * PER_64);
    assert_eq!(app.states_held().await, shares.per_48 + 1);
    if crate::support::states_in_process() {
        assert_eq!(app.states.evicted(), 0, "nobody was pushed out");
    }

    // The player's login completes.
    let callback = app.consent(&apply, "openid-yxc", "agree").await;
    let response = player.get(&callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(
        response.headers()["location"],
        "/",
        "the login started before the flood still works"
    );
}

#[actix_web::test]
async fn one_ipv6_48_cannot_churn_out_another_networks_login_in_process() {
    let app = spawn_with(Options {
        limits: limits(),
        stores: Some(StoreUrls::default()),
        ..Options::default()
    })
    .await;
    assert!(app.states.cap() == CAP, "the in-process store");
    tokio::time::timeout(
        TIME_LIMIT,
        a_flood_from_one_48_leaves_another_networks_login_alone(app),
    )
    .await
    .expect("the scenario finishes in time");
}

#[actix_web::test]
async fn one_ipv6_48_cannot_churn_out_another_networks_login_in_redis() {
    let app = spawn_with(Options {
        limits: limits(),
        stores: Some(StoreUrls {
            redis_url: Some(shared_redis().url()),
            redis_prefix: Some(format!("t{}:", random_hex(6))),
            database_url: None,
        }),
        ..Options::default()
    })
    .await;
    tokio::time::timeout(
        TIME_LIMIT,
        a_flood_from_one_48_leaves_another_networks_login_alone(app),
    )
    .await
    .expect("the scenario finishes in time");
}

/// In Redis the sets are `client:<ip>` (an IPv4 address or an IPv6 /64)
/// and `client:<network>/56`, `client:<network>/48`, named as Rust writes
/// the networks whatever the zero groups, and taking a state removes it
/// from all of them.
#[actix_web::test]
async fn in_redis_each_level_has_its_set_and_taking_a_state_empties_them() {
    let url = shared_redis().url();
    let pool = backend::store::redis_pool::RedisPool::new(&url).unwrap();
    let prefix = format!("t{}:", random_hex(6));
    let one_each = StateShares {
        per_client: 1,
        per_56: 1,
        per_48: 1,
    };
    let store = RedisStateStore::with_shares(pool.clone(), &prefix, 1_000, one_each);
    let ttl = Duration::from_secs(60);
    let mut conn = pool.get().await.unwrap();
    let clients = [
        "2001:db8:1:2ff::1",
        "2001:0:0:1::1",
        "::1",
        "1:2:3:4:5:6:7:8",
        "abcd:ef01:2345:6789::",
        "0:1:0:1::9",
        "0:0:1:ff00::",
        "1:0:0:2::",
        "192.0.2.1",
    ];
    for client in clients {
        let ip: IpAddr = client.parse().unwrap();
        let keys: Vec<String> = state_networks(ip)
            .iter()
            .enumerate()
            .map(|(level, net)| match level {
                // The client's own key is its address, as today.
                0 => format!("{prefix}client:{}", net.addr()),
                _ => format!("{prefix}client:{net}"),
            })
            .collect();
        let state = issue_for(&store, Flow::Web, None, Some(ip), ttl)
            .await
            .unwrap();
        for key in &keys {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(members, std::slice::from_ref(&state), "{client}: {key}");
        }
        // Every level is full (a share of one): a neighbour in the same
        // /48 is refused.
        let neighbour = match ip {
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[3] ^= 0x8000;
                IpAddr::V6(segments.into())
            }
            v4 => v4,
        };
        let refused = issue_for(&store, Flow::Web, None, Some(neighbour), ttl).await;
        assert_eq!(refused, Err(StoreError::ClientFull), "{client}");
        // Taken: out of every set (an empty set is no key at all).
        assert!(
            backend::login::state::consume(&store, Some(&state), Flow::Web, None)
                .await
                .unwrap()
                .is_ok()
        );
        for key in &keys {
            let exists: i64 = redis::cmd("EXISTS")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(exists, 0, "{client}: {key} after the take");
        }
        issue_for(&store, Flow::Web, None, Some(neighbour), ttl)
            .await
            .unwrap();
    }
}
