//! A flood of refreshes with random tokens from one address, for 10 s, while
//! players from other addresses log in and a load balancer polls readiness.
//! In a binary of its own: it saturates the machine on purpose, and would
//! starve the other suites' tests running beside it.

#[path = "api/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use backend::client_ip::TrustedProxies;
use backend::config::LimitSettings;
use futures::future::join_all;
use support::{browser, spawn_with, Options};

#[actix_web::test]
async fn a_refresh_flood_from_one_address_slows_no_other_login_nor_readiness() {
    let app = spawn_with(Options {
        limits: LimitSettings {
            trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let flood_for = Duration::from_secs(10);
    let deadline = Instant::now() + flood_for;
    let flooder = reqwest::Client::new();
    let flood = join_all((0..32).map(|_| {
        let (app, flooder) = (&app, &flooder);
        async move {
            let (mut refused, mut other) = (0u64, 0u64);
            while Instant::now() < deadline {
                let token = backend::secret::random_hex(32);
                let status = flooder
                    .post(app.url("/settings/token/refresh/"))
                    .header("X-Forwarded-For", "198.51.100.66")
                    .json(&serde_json::json!({ "refresh": token }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                match status {
                    429 => refused += 1,
                    _ => other += 1,
                }
            }
            (refused, other)
        }
    }));
    let others = async {
        let (mut logins, mut slowest_login, mut slowest_health) =
            (0, Duration::ZERO, Duration::ZERO);
        while Instant::now() < deadline {
            let started = Instant::now();
            let location = app.web_login(&browser(), "openid-yxc").await;
            slowest_login = slowest_login.max(started.elapsed());
            assert_eq!(location, "/");
            logins += 1;
            let started = Instant::now();
            let health = reqwest::Client::new()
                .get(app.url("/healthz"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .unwrap();
            slowest_health = slowest_health.max(started.elapsed());
            assert_eq!(health.status().as_u16(), 200);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (logins, slowest_login, slowest_health)
    };
    let (flooded, (logins, slowest_login, slowest_health)) = futures::join!(flood, others);
    let refused: u64 = flooded.iter().map(|f| f.0).sum();
    let answered: u64 = flooded.iter().map(|f| f.1).sum();
    println!(
        "{:?} of refresh flood ({store:?}): {} requests ({:.0}/s), {refused} refused with 429, {answered} answered otherwise; \
         {logins} web logins from another address, slowest {slowest_login:?}; slowest /healthz {slowest_health:?}",
        flood_for,
        refused + answered,
        (refused + answered) as f64 / flood_for.as_secs_f64(),
        store = support::store_kind(),
    );
    assert!(logins >= 3, "{logins} logins in 10 s");
    assert!(slowest_login < Duration::from_secs(1), "{slowest_login:?}");
    assert!(
        slowest_health < Duration::from_secs(2),
        "{slowest_health:?}"
    );
    // The default burst of 150, plus 5 a second, got through to the store.
    assert!(
        answered <= 150 + 5 * 11,
        "{answered} refreshes were not limited"
    );
    assert!(refused > answered, "the flood was not cut off");
}
