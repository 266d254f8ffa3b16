//! Demo mode: no AcWing credentials, so the built-in simulator plays AcWing
//! on its own port (its own origin, as acwing.com is). Only in a build with
//! the `demo` feature (`cargo xtask run`, `cargo xtask serve`); a deployment
//! build has neither this module nor the simulator.

use std::net::{SocketAddr, TcpListener};

use acwing_sim::{SimConfig, SimOptions};
use url::Url;

pub use acwing_sim::Simulator;

use crate::config::AcwingSettings;
use acwing_oauth::{AppId, AppSecret};

use crate::secret::random_hex;

pub const DEMO_APPID: &str = "1000";

/// Starts the simulator with a fresh secret that exists only in this process.
/// With `trunk_socket` (the dev loop), its AcApp window page reloads when
/// trunk rebuilds.
pub fn start_simulator(
    bind: SocketAddr,
    app_public_url: &Url,
    trunk_socket: Option<String>,
) -> std::io::Result<(Simulator, AcwingSettings)> {
    let secret = random_hex(16);
    let listener = TcpListener::bind(bind)?;
    let simulator = Simulator::start_with(
        listener,
        SimConfig {
            appid: DEMO_APPID.to_owned(),
            secret: secret.clone(),
            users: SimConfig::demo_users(),
            app_public_url: Some(app_public_url.as_str().trim_end_matches('/').to_owned()),
        },
        SimOptions {
            live_reload: trunk_socket,
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
    let base_url = Url::parse(&simulator.base_url()).map_err(std::io::Error::other)?;
    let settings = AcwingSettings {
        appid: AppId::parse(DEMO_APPID).map_err(std::io::Error::other)?,
        secret: AppSecret::new(secret),
        base_url,
    };
    Ok((simulator, settings))
}
