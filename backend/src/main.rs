use std::io::IsTerminal;
use std::process::ExitCode;

use backend::config::{Cli, Launch};
#[cfg(feature = "demo")]
use backend::demo::{start_simulator, Simulator};
use backend::startup::Application;
use backend::telemetry::log_filter;
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Ok(cli) => cli.into_launch(),
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
    let launch = match settings {
        Ok(launch) => launch,
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
    match actix_web::rt::System::new().block_on(serve(launch)) {
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

async fn serve(launch: Launch) -> Result<(), Box<dyn std::error::Error>> {
    let behind_trunk = launch.behind_trunk();
    #[cfg(feature = "demo")]
    let (settings, simulator) = {
        let mut settings = launch.settings;
        let simulator = match &launch.demo {
            Some(demo) => Some(start_demo(demo, &mut settings, behind_trunk)?),
            None => None,
        };
        (settings, simulator)
    };
    #[cfg(not(feature = "demo"))]
    let (settings, simulator) = (launch.settings, None::<Simulator>);
    if simulator.is_none() && settings.acwing.in_clear() {
        tracing::warn!(
            base_url = %settings.acwing.base_url,
            "ACWING_BASE_URL is plain http to another host: the secret and players' codes cross the network unencrypted"
        );
    }
    let app = Application::build(&settings).await?;
    let public = settings.public_url.as_str().trim_end_matches('/');
    println!("AcApp server listening on {}", settings.bind);
    if behind_trunk {
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

#[cfg(feature = "demo")]
fn start_demo(
    demo: &backend::config::DemoSettings,
    settings: &mut backend::config::Settings,
    behind_trunk: bool,
) -> Result<Simulator, String> {
    let bind = demo.simulator_bind;
    let simulator = start_simulator(demo, settings).map_err(|e| {
        format!("cannot start the AcWing simulator on {bind} (ACWING_SIMULATOR_BIND): {e}")
    })?;
    let mode = if behind_trunk { "--dev" } else { "--demo" };
    tracing::warn!(
        simulator = %simulator.base_url(),
        "DEMO MODE ({mode}): logins go to the built-in AcWing simulator, not to AcWing; anyone can log in as anyone"
    );
    Ok(simulator)
}
