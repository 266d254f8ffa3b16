//! Frontend timings in headless Chromium, from performance marks the app
//! sets itself (see `frontend/`): navigation to an interactive login button
//! on the standalone site, and `new AcGame(...)` to the app's first screen
//! in the simulated AcApp window.

use std::time::Duration;

use fantoccini::Client;
use testkit::chromium;

use crate::report::BrowserTimes;
use crate::stack::Stack;

/// Set by the Login component once its button can be clicked.
const LOGIN_READY: &str = "acapp:login-ready";
/// Set by game.js's constructor and by the app's first render.
const NEW_ACGAME: &str = "acapp:new-acgame";
const FIRST_SCREEN: &str = "acapp:first-screen";

/// Polls (for at most 15 s) until the script returns a number.
async fn wait_number(client: &Client, script: &str) -> Result<f64, String> {
    for _ in 0..300 {
        let value = client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        if let Some(n) = value.as_f64() {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("timed out waiting for: {script}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

pub async fn measure(stack: &Stack, runs: usize) -> Result<BrowserTimes, String> {
    // Chromium's own window size, as the timings have always been taken.
    let (client, _driver) = chromium::start(&chromium::Options::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut interactive = Vec::new();
    let mut to_screen = Vec::new();
    let mark = |name: &str| {
        format!(
            "const m = performance.getEntriesByName('{name}'); return m.length ? m[0].startTime : null;"
        )
    };
    let window = format!(
        "{}/acapp/?module={}/acapp/game.js&css={}/acapp/game.css",
        stack.sim_url, stack.backend_url, stack.backend_url
    );
    for _ in 0..runs {
        client
            .goto(&format!("{}/", stack.backend_url))
            .await
            .map_err(|e| e.to_string())?;
        interactive.push(wait_number(&client, &mark(LOGIN_READY)).await?);

        client.goto(&window).await.map_err(|e| e.to_string())?;
        let start = wait_number(&client, &mark(NEW_ACGAME)).await?;
        let shown = wait_number(&client, &mark(FIRST_SCREEN)).await?;
        to_screen.push(shown - start);
    }
    let _ = client.close().await;
    Ok(BrowserTimes {
        runs,
        login_interactive_ms: median(interactive),
        acgame_to_screen_ms: median(to_screen),
    })
}
