//! The simulator as its own process, for load tests that must not share a
//! process (or its CPU accounting) with the server under test.
//!
//! `acwing-sim --bind 127.0.0.1:0 --appid 1000 [--workers N] [--any-user]
//! [--control] [--app-public-url URL]` with the secret in
//! `ACWING_SIM_SECRET` (`--help` lists everything). Prints
//! `listening on http://…` once ready, then serves until killed.

use std::net::TcpListener;
use std::process::ExitCode;

use acwing_sim::{SimConfig, SimOptions, Simulator};
use clap::Parser;

/// A stand-in for AcWing's OAuth2 API and its AcApp window, on loopback.
#[derive(Parser)]
#[command(
    version,
    after_help = "The secret the server under test uses comes from ACWING_SIM_SECRET \
                  (never a flag: flags show in `ps`)."
)]
struct Cli {
    /// Where to listen (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// The appid the server under test uses.
    #[arg(long, default_value = "1000")]
    appid: String,
    /// actix worker threads.
    #[arg(long, default_value_t = SimOptions::default().workers)]
    workers: usize,
    /// Any openid logs in, as a player made up on the spot.
    #[arg(long)]
    any_user: bool,
    /// Routes to change latency and faults at run time (for benchmarks).
    #[arg(long)]
    control: bool,
    /// The app's origin, whose `/acapp/game.js` and `game.css` the
    /// simulated AcApp window loads (e.g. http://127.0.0.1:8000).
    #[arg(long)]
    app_public_url: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let secret = std::env::var("ACWING_SIM_SECRET")
        .map_err(|_| "set ACWING_SIM_SECRET to the secret the server will use".to_owned())?;
    let options = SimOptions {
        workers: cli.workers,
        auto_users: cli.any_user,
        control: cli.control,
        ..SimOptions::default()
    };
    let bind = cli.bind;
    let listener = TcpListener::bind(&bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    actix_web::rt::System::new().block_on(async move {
        let sim = Simulator::start_with(
            listener,
            SimConfig {
                appid: cli.appid,
                secret,
                users: SimConfig::demo_users(),
                app_public_url: cli.app_public_url,
            },
            options,
        )
        .map_err(|e| e.to_string())?;
        println!("listening on {}", sim.base_url());
        std::future::pending::<()>().await;
        Ok(())
    })
}
