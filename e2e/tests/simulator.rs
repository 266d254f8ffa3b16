//! The simulated AcWingOS hands redirect_uri's answer to `callback` the way
//! jQuery's `success` handler does: only a 2xx answer arrives (strict, the
//! default). `?delivery=lenient` hands over any answer. This is what makes
//! the backend's "AcApp receive_code always answers 200" contract matter.

use std::time::Duration;

use e2e::start;

/// A stand-in AcApp module that authorizes against a redirect_uri our
/// server answers with 404, and records what its callback receives.
fn module_against_a_404(app: &str) -> String {
    let source = format!(
        "export class AcGame {{ constructor(id, os) {{ \
           window.answers = []; \
           os.api.oauth2.authorize('4242', encodeURIComponent('{app}/no-such-endpoint/'), \
             'userinfo', 'state', answer => window.answers.push(answer ?? null)); }} }}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(source.as_bytes()).collect();
    format!("data:text/javascript,{}", encoded.replace('+', "%20"))
}

fn window_url(sim: &str, module: &str, delivery: Option<&str>) -> String {
    let module: String = url::form_urlencoded::byte_serialize(module.as_bytes()).collect();
    let delivery = delivery.map_or(String::new(), |d| format!("&delivery={d}"));
    format!("{sim}/acapp/?module={module}{delivery}")
}

#[actix_web::test]
async fn strict_delivery_drops_a_non_2xx_answer_and_lenient_hands_it_over() {
    let s = start().await;
    let module = module_against_a_404(&s.app);

    s.goto(&window_url(&s.sim.base_url(), &module, None)).await;
    s.click("#acapp-agree").await;
    // The request to redirect_uri is made and answered 404 …
    s.until("window.simCallbacks !== undefined", Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // … and, as with jQuery's success handler, never reaches the callback.
    assert_eq!(s.js("return window.answers.length").await, 0);
    assert_eq!(s.js("return window.simCallbacks.length").await, 0);

    s.goto(&window_url(&s.sim.base_url(), &module, Some("lenient")))
        .await;
    s.click("#acapp-agree").await;
    s.until(
        "window.answers && window.answers.length === 1",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(s.js("return window.simCallbacks.length").await, 1);
    s.close().await;
}
