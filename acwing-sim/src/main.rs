//! `acwing-sim`: the simulator as its own process, for any AcApp author's
//! backend and browser, and for load tests that must not share a process
//! (or its CPU accounting) with the server under test.
//!
//! `acwing-sim --help` lists every flag. The first line on stdout is
//! `listening on http://…` once it serves (scripts read it); nothing else
//! goes to stdout, as a reader may close it after that line.

use std::net::TcpListener;
use std::process::ExitCode;

use acwing_sim::cli::{Cli, SECRET_ENV};
use acwing_sim::Simulator;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("acwing-sim: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let launch = cli
        .launch(std::env::var(SECRET_ENV).ok())
        .map_err(|e| e.to_string())?;
    let bind = &launch.bind;
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let base_url = format!("http://{address}");
    let config = launch.config(&base_url);
    actix_web::rt::System::new().block_on(async move {
        let sim = Simulator::start_with(listener, config, launch.options.clone())
            .map_err(|e| e.to_string())?;
        println!("listening on {}", sim.base_url());
        eprintln!("{}", launch.summary(&sim.base_url()));
        std::future::pending::<()>().await;
        Ok(())
    })
}
