//! Demo mode: no AcWing credentials, so the built-in simulator plays AcWing
//! on its own port (its own origin, as acwing.com is). Only in a build with
//! the `demo` feature (`cargo xtask run`, `cargo xtask serve`); a deployment
//! build has neither this module nor the simulator.

use std::net::TcpListener;

use acwing_sim::{SimConfig, SimOptions};
use url::Url;

pub use acwing_sim::Simulator;

use crate::config::{DemoSettings, Settings, DEMO_APPID};

/// Starts the simulator as `demo` asks, with the appid and secret of
/// `settings.acwing`, and points `settings` at it: its address, and its
/// origin among the allowed ones (it hosts the AcApp window). With a trunk
/// socket (the dev loop), its AcApp window page reloads when trunk
/// rebuilds.
pub fn start_simulator(demo: &DemoSettings, settings: &mut Settings) -> std::io::Result<Simulator> {
    let listener = TcpListener::bind(demo.simulator_bind)?;
    let simulator = Simulator::start_with(
        listener,
        SimConfig {
            appid: DEMO_APPID.to_owned(),
            secret: settings.acwing.secret.expose().to_owned(),
            users: SimConfig::demo_users(),
            app_public_url: Some(
                settings
                    .public_url
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
            ),
        },
        SimOptions {
            live_reload: demo.trunk_socket.clone(),
            ..SimOptions::default()
        },
    )?;
    // Demo players get photos the simulator serves, as the CDN is far away.
    for mut user in SimConfig::demo_users() {
        if user.photo.starts_with("https://") {
            user.photo = simulator.avatar_url(&user.username);
            simulator.add_user(user);
        }
    }
    settings.acwing.base_url = Url::parse(&simulator.base_url()).map_err(std::io::Error::other)?;
    settings.allowed_origins.push(simulator.base_url());
    Ok(simulator)
}
