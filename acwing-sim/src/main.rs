//! The simulator as its own process, for load tests that must not share a
//! process (or its CPU accounting) with the server under test.
//!
//! `acwing-sim --bind 127.0.0.1:0 --appid 1000 [--workers N] [--any-user] [--control]`
//! with the secret in `ACWING_SIM_SECRET`. Prints `listening on http://…`
//! once ready, then serves until killed.

use std::net::TcpListener;
use std::process::ExitCode;

use acwing_sim::{SimConfig, SimOptions, Simulator};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut bind = "127.0.0.1:0".to_owned();
    let mut appid = "1000".to_owned();
    let mut options = SimOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bind" => bind = value("--bind")?,
            "--appid" => appid = value("--appid")?,
            "--workers" => {
                options.workers = value("--workers")?
                    .parse()
                    .map_err(|_| "--workers takes a number".to_owned())?
            }
            "--any-user" => options.auto_users = true,
            "--control" => options.control = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let secret = std::env::var("ACWING_SIM_SECRET")
        .map_err(|_| "set ACWING_SIM_SECRET to the secret the server will use".to_owned())?;
    let listener = TcpListener::bind(&bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    actix_web::rt::System::new().block_on(async move {
        let sim = Simulator::start_with(
            listener,
            SimConfig {
                appid,
                secret,
                users: SimConfig::demo_users(),
                app_public_url: None,
            },
            options,
        )
        .map_err(|e| e.to_string())?;
        println!("listening on {}", sim.base_url());
        std::future::pending::<()>().await;
        Ok(())
    })
}
