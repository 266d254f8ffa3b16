//! axe-core on every screen a player sees, in headless Chromium: the
//! standalone page (the whole document) and the AcApp window (the app's
//! root only: the simulated AcWing page around it is not ours). WCAG 2.0
//! and 2.1 A and AA, 2.2 AA, and axe's best practices; no violation is
//! allowed.
//!
//! axe-core is the pinned version `cargo xtask test e2e` installs from npm
//! into the tool cache, passed down in `AXE_CORE_JS`.

use std::time::Duration;

use e2e::{start, AxeReport, Stack};

const LOGIN_ENABLED: &str = "[data-acwl=login-button]:not([disabled])";
const USERNAME: &str = "[data-acwl=username]";
const PROBLEM: &str = "[data-acwl=problem]";
const CANCEL: &str = "[data-acwl=cancel-button]";

/// Runs axe on `context` (None: the whole document), prints the counts,
/// and fails on any violation, naming each rule and node.
async fn no_violations(s: &Stack, screen: &str, context: Option<&str>) -> usize {
    // The screen is drawn and its focus moved before axe looks.
    s.settle().await;
    let report = s.axe(context).await;
    let rules = |list: &[serde_json::Value]| {
        list.iter()
            .map(|r| {
                format!(
                    "{} ({} nodes)",
                    r["id"].as_str().unwrap_or("?"),
                    r["nodes"].as_array().map_or(0, Vec::len)
                )
            })
            .collect::<Vec<_>>()
    };
    println!(
        "axe-core {} on {screen} ({}): {} violations, {} passes, {} incomplete {:?}, {} inapplicable",
        report.version,
        context.unwrap_or("the whole document"),
        report.violations.len(),
        report.passes.len(),
        report.incomplete.len(),
        rules(&report.incomplete),
        report.inapplicable,
    );
    assert!(
        report.violations.is_empty(),
        "axe-core found violations on {screen}:{}",
        AxeReport::describe(&report.violations)
    );
    // Contrast was measured, not skipped (an opaque card makes it
    // computable), and the buttons' names were checked.
    for rule in ["color-contrast", "button-name"] {
        assert!(
            report.passes.iter().any(|p| p == rule),
            "{rule} did not pass on {screen}: passes {:?}",
            report.passes
        );
    }
    report.passes.len()
}

/// The harness finds violations: a planted image without a text
/// alternative and grey-on-grey text, outside the app, are reported.
async fn axe_finds_a_planted_violation(s: &Stack) {
    s.js(
        "const canary = document.createElement('div'); canary.id = 'axe-canary';
         canary.innerHTML = '<img src=\"/nothing.png\"><p style=\"color:#777;background:#888\">灰色</p>';
         document.body.append(canary); return 1",
    )
    .await;
    let report = s.axe(Some("#axe-canary")).await;
    let found: Vec<&str> = report
        .violations
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(
        found.contains(&"image-alt") && found.contains(&"color-contrast"),
        "axe missed the planted violations: {found:?}"
    );
    s.js("document.getElementById('axe-canary').remove(); return 1")
        .await;
}

#[actix_web::test]
async fn the_standalone_page_has_no_axe_violations_on_login_error_and_menu() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.element(&format!("main[data-acwl-screen=login] {LOGIN_ENABLED}"))
        .await;
    no_violations(&s, "the web login screen", None).await;

    // A message on the login screen (the player refused on AcWing's page).
    s.click(LOGIN_ENABLED).await;
    s.click("#reject").await;
    s.element(&format!("{PROBLEM}[data-acwl-code=user_rejected]"))
        .await;
    no_violations(&s, "the web login screen with a message", None).await;

    s.click(LOGIN_ENABLED).await;
    s.click("#agree").await;
    s.element(USERNAME).await;
    no_violations(&s, "the web menu", None).await;
    s.close().await;
}

#[actix_web::test]
async fn the_acapp_window_has_no_axe_violations_on_waiting_login_error_and_menu() {
    let s = start().await;
    let root = Some("#app-1");
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    axe_finds_a_planted_violation(&s).await;
    // The window's own attempt waits for AcWing (its dialog closed).
    s.until(
        "getComputedStyle(document.getElementById('consent')).display === 'block'",
        Duration::from_secs(10),
    )
    .await;
    s.click("#acapp-dismiss").await;
    s.element(CANCEL).await;
    no_violations(&s, "the AcApp login screen, waiting for AcWing", root).await;

    s.click(CANCEL).await;
    s.element(LOGIN_ENABLED).await;
    no_violations(&s, "the AcApp login screen", root).await;

    // A message: the player refuses.
    s.click(LOGIN_ENABLED).await;
    s.until("window.simAuthorizeCalls === 2", Duration::from_secs(5))
        .await;
    s.click("#acapp-reject").await;
    s.element(&format!("{PROBLEM}[data-acwl-code=user_rejected]"))
        .await;
    no_violations(&s, "the AcApp login screen with a message", root).await;

    s.click(LOGIN_ENABLED).await;
    s.until("window.simAuthorizeCalls === 3", Duration::from_secs(5))
        .await;
    s.click("#acapp-agree").await;
    s.element(USERNAME).await;
    no_violations(&s, "the AcApp menu", root).await;
    s.close().await;
}
