//! The client against the AcWing simulator over real HTTP on loopback,
//! healthy and faulty.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acwing_oauth::{
    AcwingClient, AppId, AppSecret, AuthCode, CallObserver, ClientBuilder, Endpoint, Errcode,
    Error, Outcome, RefreshToken,
};
use acwing_sim::{Endpoint as SimEndpoint, Fault, SimConfig, Simulator};

const APPID: &str = "4242";
const SECRET: &str = "s3cret";

type Calls = Arc<Mutex<Vec<(Endpoint, String)>>>;

fn start() -> (Simulator, AcwingClient, Calls) {
    start_with(|builder| builder)
}

fn start_with(
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Simulator, AcwingClient, Calls) {
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: APPID.into(),
            secret: SECRET.into(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
    )
    .unwrap();
    let calls = Calls::default();
    let seen = calls.clone();
    let observer = move |endpoint: Endpoint, outcome: Outcome<'_>, _took: Duration| {
        let label = match outcome {
            Outcome::Errcode(code) => format!("errcode {code}"),
            other => other.label().to_owned(),
        };
        seen.lock().unwrap().push((endpoint, label));
    };
    let builder = AcwingClient::builder(AppId::parse(APPID).unwrap(), AppSecret::new(SECRET))
        .base_url(sim.base_url().parse().unwrap())
        .timeout(Duration::from_millis(800))
        .observer(Arc::new(observer) as Arc<dyn CallObserver>);
    let client = configure(builder).build().unwrap();
    (sim, client, calls)
}

fn last(calls: &Calls) -> (Endpoint, String) {
    calls.lock().unwrap().last().cloned().unwrap()
}

#[actix_web::test]
async fn a_pool_per_thread_serves_threads_with_runtimes_of_their_own() {
    let (sim, client, calls) = start_with(ClientBuilder::pool_per_thread);
    // As actix's workers: threads each running a single-threaded runtime.
    let exchange_elsewhere = |openid: &'static str| {
        let (client, code) = (
            client.clone(),
            AuthCode::new(sim.issue_code(openid).unwrap()),
        );
        actix_web::rt::task::spawn_blocking(move || {
            std::thread::spawn(move || {
                actix_web::rt::System::new()
                    .block_on(async move { client.exchange_code(&code).await })
            })
            .join()
            .unwrap()
        })
    };
    for _ in 0..2 {
        let openid = "openid-hostile";
        let grant = exchange_elsewhere(openid).await.unwrap().unwrap();
        assert_eq!(grant.openid.as_str(), openid);
    }
    // And on this thread, whose runtime also serves the simulator.
    let code = AuthCode::new(sim.issue_code("openid-hostile").unwrap());
    client.exchange_code(&code).await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls, vec![(Endpoint::AccessToken, "ok".to_owned()); 3]);
}

#[actix_web::test]
async fn the_whole_flow_and_every_call_is_observed() {
    let (sim, client, calls) = start();
    let code = AuthCode::new(sim.issue_code("openid-hostile").unwrap());
    let grant = client.exchange_code(&code).await.unwrap();
    assert_eq!(last(&calls), (Endpoint::AccessToken, "ok".into()));
    let profile = client
        .getinfo(&grant.access_token, &grant.openid)
        .await
        .unwrap();
    assert_eq!(
        profile.username.as_ref().map(|u| u.as_str()),
        Some("<img src=x onerror=alert(1)>"),
        "markup is the frontend's to escape; only invisible characters go"
    );
    assert!(
        profile.photo.unwrap().is_default(),
        "javascript: is no photo"
    );
    assert_eq!(last(&calls), (Endpoint::GetInfo, "ok".into()));

    let again = client.exchange_code(&code).await.unwrap_err();
    assert!(matches!(
        again,
        Error::Api {
            code: Errcode::CodeExpired,
            ..
        }
    ));
    assert_eq!(
        last(&calls),
        (Endpoint::AccessToken, "errcode 40001".into())
    );

    // After 2 h the access token is expired; the refresh token renews it.
    sim.advance_clock(Duration::from_secs(2 * 3600 + 1));
    let expired = client
        .getinfo(&grant.access_token, &grant.openid)
        .await
        .unwrap_err();
    assert!(matches!(
        expired,
        Error::Api {
            code: Errcode::AccessTokenExpired,
            ..
        }
    ));
    let renewed = client
        .refresh(grant.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(last(&calls), (Endpoint::RefreshToken, "ok".into()));
    assert_eq!(sim.calls(SimEndpoint::RefreshToken), 1);
    client
        .getinfo(&renewed.access_token, &renewed.openid)
        .await
        .unwrap();
    let unknown = client
        .refresh(&RefreshToken::parse("nope").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::Api { .. }), "{unknown:?}");
}

#[actix_web::test]
async fn a_wrong_secret_is_an_errcode_and_never_shown() {
    let (sim, _, _) = start();
    let client = AcwingClient::builder(AppId::parse(APPID).unwrap(), AppSecret::new("wrong"))
        .base_url(sim.base_url().parse().unwrap())
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains("wrong"));
    let code = AuthCode::new(sim.issue_code("openid-yxc").unwrap());
    let err = client.exchange_code(&code).await.unwrap_err();
    assert!(
        matches!(err, Error::Api { code: Errcode::Other(ref other), .. } if other.as_str() == "40006"),
        "{err:?}"
    );
}

/// Whether an error is the one a fault should cause.
type Expected = fn(&Error) -> bool;

#[actix_web::test]
async fn faults_are_classified() {
    let (sim, client, calls) = start();
    let cases: Vec<(Fault, Expected, &str)> = vec![
        (Fault::Hang, |e| matches!(e, Error::Timeout(_)), "timeout"),
        (
            Fault::ServerError,
            |e| matches!(e, Error::Status(500)),
            "status",
        ),
        (
            Fault::Status {
                status: 429,
                body: serde_json::json!({"username": "proxy", "photo": ""}),
            },
            |e| matches!(e, Error::Status(429)),
            "status",
        ),
        (
            Fault::Redirect("http://127.0.0.1:1/steal".into()),
            |e| matches!(e, Error::Redirect(302)),
            "status",
        ),
        (Fault::Garbage, |e| matches!(e, Error::Garbage), "unusable"),
        (
            Fault::Oversized,
            |e| matches!(e, Error::TooLarge),
            "unusable",
        ),
        (
            Fault::Errcode {
                code: "40010".into(),
                msg: "user reject".into(),
                as_number: false,
            },
            |e| {
                matches!(
                    e,
                    Error::Api {
                        code: Errcode::UserReject,
                        ..
                    }
                )
            },
            "errcode 40010",
        ),
    ];
    for (fault, expected, label) in cases {
        sim.set_fault(Some(fault.clone()));
        let code = AuthCode::new(sim.issue_code("openid-yxc").unwrap());
        let err = client.exchange_code(&code).await.unwrap_err();
        assert!(expected(&err), "{fault:?}: {err:?}");
        assert_eq!(last(&calls), (Endpoint::AccessToken, label.into()));
    }
}

#[actix_web::test]
async fn nothing_listening_is_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = AcwingClient::builder(AppId::parse(APPID).unwrap(), AppSecret::new(SECRET))
        .base_url(format!("http://127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    let err = client.exchange_code(&AuthCode::new("c")).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable), "{err:?}");
}
