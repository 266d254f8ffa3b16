//! The AcWing simulator in the test's own process, with as many players as
//! a load of logins needs.

use acwing_sim::{SimConfig, SimUser, Simulator};

/// A simulator for the application `appid` with `secret`, on a free
/// loopback port, that knows the demo users and `count` more: openids
/// `openid-{prefix}{i}`, usernames `{prefix}{i}`, for `i` in `0..count`.
///
/// It serves from the current actix runtime (`#[actix_web::test]`).
///
/// # Panics
///
/// If it cannot listen on loopback.
pub fn with_players(appid: &str, secret: &str, prefix: &str, count: usize) -> Simulator {
    let mut users = SimConfig::demo_users();
    users.extend((0..count).map(|i| SimUser {
        openid: format!("openid-{prefix}{i}"),
        username: format!("{prefix}{i}"),
        photo: String::new(),
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("the simulator cannot listen on loopback: {e}"));
    Simulator::start(
        listener,
        SimConfig {
            appid: appid.into(),
            secret: secret.to_owned(),
            users,
            app_public_url: None,
        },
    )
    .unwrap_or_else(|e| panic!("the simulator does not start: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn the_extra_players_can_log_in_and_no_others() {
        let sim = with_players("1000", "secret", "p", 2);
        assert!(sim.issue_code("openid-p0").is_some());
        assert!(sim.issue_code("openid-p1").is_some());
        assert!(sim.issue_code("openid-p2").is_none());
        let demo = &SimConfig::demo_users()[0].openid;
        assert!(sim.issue_code(demo).is_some(), "the demo users too");
    }
}
