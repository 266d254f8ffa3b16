use std::io::IsTerminal;
use std::net::TcpListener;
use std::process::ExitCode;

use backend::config::{AcwingMode, Cli, Settings};
#[cfg(feature = "demo")]
use backend::demo::{start_simulator, Simulator};
use backend::startup::Application;
use backend::telemetry::log_filter;
use clap::Parser;

/// Bad settings exit with this status, like clap's own usage errors.
const EXIT_BAD_CONFIG: u8 = 2;

/// A build without the `demo` feature never starts a simulator.
#[cfg(not(feature = "demo"))]
enum Simulator {}

#[cfg(not(feature = "demo"))]
impl Simulator {
    fn base_url(&self) -> String {
        match *self {}
    }
}

fn main() -> ExitCode {
    let settings = match Cli::try_parse() {
        Ok(cli) => cli.into_settings(),
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let rendered = err.render().to_string();
            eprintln!(
                "{}",
                rendered.lines().next().unwrap_or("error: bad arguments")
            );
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let settings = match settings {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    raise_open_file_limit();
    match actix_web::rt::System::new().block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Every connection is a file descriptor, and the soft limit is often
/// 1,024 while the hard one is far higher: take all the hard limit allows,
/// as servers commonly do, so that the per-address connection cap
/// (`ACAPP_CONNECTIONS_PER_CLIENT`), not the limit, is what a flood meets.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open-file limit"),
    }
}

async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let (acwing, extra_origins, simulator) = match &settings.acwing {
        AcwingMode::Real(acwing) => {
            if acwing.in_clear() {
                tracing::warn!(
                    base_url = %acwing.base_url,
                    "ACWING_BASE_URL is plain http to another host: the secret and players' codes cross the network unencrypted"
                );
            }
            (acwing.clone(), Vec::new(), None::<Simulator>)
        }
        #[cfg(feature = "demo")]
        AcwingMode::Demo(demo) => {
            let bind = demo.simulator_bind;
            let (simulator, acwing) = start_simulator(
                bind,
                &settings.public_url,
                demo.trunk_socket.clone(),
            )
            .map_err(|e| {
                format!("cannot start the AcWing simulator on {bind} (ACWING_SIMULATOR_BIND): {e}")
            })?;
            let mode = if demo.trunk_socket.is_some() {
                "--dev"
            } else {
                "--demo"
            };
            tracing::warn!(
                simulator = %simulator.base_url(),
                "DEMO MODE ({mode}): logins go to the built-in AcWing simulator, not to AcWing; anyone can log in as anyone"
            );
            (acwing, vec![simulator.base_url()], Some(simulator))
        }
    };
    let bind = settings.bind;
    let listen = move || {
        TcpListener::bind(bind)
            .map_err(|e| std::io::Error::new(e.kind(), format!("on {bind} (ACAPP_BIND): {e}")))
    };
    let app = Application::build(&settings, &acwing, listen, &extra_origins).await?;
    let public = settings.public_url.as_str().trim_end_matches('/');
    println!("AcApp server listening on {}", settings.bind);
    if settings.acwing.behind_trunk() {
        // The public URL is trunk's, which may not answer yet: `cargo xtask
        // serve` prints it once it does.
        println!("  behind trunk serve at {public}/");
        app.run_until_stopped().await?;
        return Ok(());
    }
    println!("  standalone site: {public}/");
    println!(
        "  AcApp module:    {public}/acapp/game.js (CSS: {public}/acapp/game.css, class AcGame)"
    );
    if let Some(simulator) = &simulator {
        println!(
            "  simulated AcWing AcApp window: {}/acapp/",
            simulator.base_url()
        );
    }
    app.run_until_stopped().await?;
    Ok(())
}
