//! `cargo xtask bench` runs this after building everything in release mode:
//!
//! `bench [--quick] --backend BIN --sim BIN --dist DIR [--dist-without-game DIR] --out DIR [--criterion DIR]`
//!
//! `--only new:100:64,returning:0:1000` (players, upstream ms, in flight)
//! runs just those load cells and prints them with the SQLite writer's
//! metrics, for chasing one figure; it writes no report.
//!
//! It starts the server and the simulator as separate processes, drives
//! whole web logins against them, and writes `report.md`, `report.json` and
//! `latency.svg` into `--out`. Load goes to loopback only, and every loop is
//! bounded in count and time. It asserts nothing about speed.
//!
//! `bench state-memory` (run as its own process, for a clean heap) prints
//! the bytes one outstanding state costs at 1 million states.

mod browser;
mod limit;
mod load;
mod report;
mod stack;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use load::{Bounds, Players};
use report::{AssetSize, Cell, CpuSpent, GeneratorCheck, Report, StateThreads};
use stack::{Binaries, Stack};

struct Args {
    quick: bool,
    backend: PathBuf,
    sim: PathBuf,
    dist: PathBuf,
    /// The bundle built without the sample game, to report what it adds.
    dist_without_game: Option<PathBuf>,
    out: PathBuf,
    criterion: Option<PathBuf>,
    /// `--only`: the cells to run, and nothing else.
    only: Option<Vec<CellSpec>>,
}

/// A load cell: who logs in, the upstream latency, how many in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CellSpec {
    players: Players,
    upstream_ms: u64,
    in_flight: usize,
}

impl std::str::FromStr for CellSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let bad = || format!("--only wants players:upstream_ms:in_flight, not {spec:?}");
        let mut parts = spec.split(':');
        let (Some(players), Some(upstream), Some(in_flight), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(CellSpec {
            players: match players {
                "new" => Players::New,
                "returning" => Players::Returning,
                _ => return Err(bad()),
            },
            upstream_ms: upstream.parse().map_err(|_| bad())?,
            in_flight: in_flight.parse().map_err(|_| bad())?,
        })
    }
}

/// The cells of a whole run, in their order.
fn every_cell() -> Vec<CellSpec> {
    let mut cells = Vec::new();
    for upstream_ms in [0, 100] {
        for players in [Players::New, Players::Returning] {
            for in_flight in [1, 64, 1000] {
                cells.push(CellSpec {
                    players,
                    upstream_ms,
                    in_flight,
                });
            }
        }
    }
    cells
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut quick, mut backend, mut sim, mut dist, mut out, mut criterion) =
        (false, None, None, None, None, None);
    let (mut dist_without_game, mut only) = (None, None);
    while let Some(arg) = args.next() {
        let mut path = || {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{arg} needs a path"))
        };
        match arg.as_str() {
            "--quick" => quick = true,
            "--backend" => backend = Some(path()?),
            "--sim" => sim = Some(path()?),
            "--dist" => dist = Some(path()?),
            "--dist-without-game" => dist_without_game = Some(path()?),
            "--out" => out = Some(path()?),
            "--criterion" => criterion = Some(path()?),
            "--only" => {
                let specs = args.next().ok_or("--only needs a list of cells")?;
                only = Some(
                    specs
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<Vec<CellSpec>, String>>()?,
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        quick,
        backend: backend.ok_or("--backend is required")?,
        sim: sim.ok_or("--sim is required")?,
        dist: dist.ok_or("--dist is required")?,
        dist_without_game,
        out: out.ok_or("--out is required")?,
        criterion,
        only,
    })
}

fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("state-memory") {
        println!("{:.1}", state_memory());
        return std::process::ExitCode::SUCCESS;
    }
    let outcome = parse_args().and_then(|args| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(run(args))
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bins = Binaries {
        backend: &args.backend,
        sim: &args.sim,
        dist: &args.dist,
    };
    let stack = Arc::new(Stack::start(&bins).await?);
    let mut report = Report {
        machine: machine(),
        quick: args.quick,
        ..Report::default()
    };
    let bounds = if args.quick {
        Bounds {
            duration: Duration::from_secs(2),
            max_logins: 5_000,
        }
    } else {
        Bounds {
            duration: Duration::from_secs(8),
            max_logins: 50_000,
        }
    };

    // Players who have logged in before, for the returning-player cells.
    let pool_size = if args.quick { 200 } else { 1000 };
    let pool: Arc<Vec<String>> = Arc::new((0..pool_size).map(|i| format!("ret-{i}")).collect());
    let setup = load::client(64);
    for chunk in pool.chunks(64) {
        let mut logins = tokio::task::JoinSet::new();
        for openid in chunk {
            let (client, stack, openid) = (setup.clone(), stack.clone(), openid.clone());
            logins.spawn(async move { load::web_login(&client, &stack, &openid).await });
        }
        while let Some(result) = logins.join_next().await {
            result
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("setting up returning players: {e}"))?;
        }
    }

    let mut latency = None;
    for (nth, spec) in args
        .only
        .clone()
        .unwrap_or_else(every_cell)
        .into_iter()
        .enumerate()
    {
        let CellSpec {
            players,
            upstream_ms,
            in_flight,
        } = spec;
        if latency != Some(upstream_ms) {
            stack.set_latency(upstream_ms).await?;
            latency = Some(upstream_ms);
        }
        // Unique per cell, so that a cell run twice still has new players.
        let run_id = format!("{nth}-{upstream_ms}-{in_flight}");
        let before = (stack.backend_cpu(), stack.sim_cpu(), stack::own_cpu());
        let spread = Duration::from_millis(upstream_ms * players.round_trips());
        let mut outcome =
            load::run(&stack, players, in_flight, bounds, spread, &pool, &run_id).await;
        let cpu = CpuSpent {
            backend: stack.backend_cpu() - before.0,
            sim: stack.sim_cpu() - before.1,
            generator: stack::own_cpu() - before.2,
        };
        if args.only.is_some() {
            for error in &outcome.error_samples {
                eprintln!("  error: {error}");
            }
            for (name, step) in load::STEPS.iter().zip(&mut outcome.steps) {
                step.sort_unstable();
                eprintln!(
                    "  {name:>12}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    report::percentile(step, 0.5),
                    report::percentile(step, 0.99),
                    report::percentile(step, 1.0),
                );
            }
        }
        let cell = Cell::new(players, upstream_ms, in_flight, outcome, cpu, cores());
        if args.only.is_some() {
            eprintln!(
                "  cores: backend {:.2}, simulator {:.2}, generator {:.2}",
                cell.backend_cpu_share, cell.sim_cpu_share, cell.generator_cpu_share
            );
        }
        eprintln!(
            "{:>9} players, {:>3} ms upstream, {:>4} in flight: {:>6.0} logins/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, {:.0} µs CPU/login, {:.2} cores",
            cell.players, upstream_ms, in_flight, cell.logins_per_sec, cell.p50_ms, cell.p99_ms, cell.errors, cell.backend_cpu_us_per_login, cell.all_cpu_share
        );
        report.cells.push(cell);
    }
    if args.only.is_some() {
        // The writer's batches, for telling its time from the rest.
        let metrics = load::client(1)
            .get(format!("{}/metrics", stack.backend_url))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        for line in metrics.lines().filter(|l| l.starts_with("acapp_sqlite")) {
            eprintln!("{line}");
        }
        return Ok(());
    }
    stack.set_latency(0).await?;

    let probe = if args.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(5)
    };
    report.healthz_per_sec = load::throughput(
        &format!("{}/healthz", stack.backend_url),
        64,
        probe,
        2_000_000,
    )
    .await;
    let (generator_before, started) = (stack::own_cpu(), std::time::Instant::now());
    report.apply_code_per_sec = load::throughput(
        &format!("{}/settings/acwing/acapp/apply_code/", stack.backend_url),
        64,
        probe,
        2_000_000,
    )
    .await;
    report.apply_code_probe_generator_cpu =
        (stack::own_cpu() - generator_before) / started.elapsed().as_secs_f64();
    report.apply_code_over_healthz = report.apply_code_per_sec / report.healthz_per_sec;
    report.generator = GeneratorCheck::new(&report, cores());
    if let Some(check) = &report.generator {
        eprintln!("{}", check.summary);
    }

    report.state_bytes_each = measure_state_memory();
    if let Some(dir) = &args.criterion {
        report.state_issue_ns = criterion_mean(dir, "state_store/issue");
        report.state_consume_ns = criterion_mean(dir, "state_store/consume");
        report.state_threads = state_threads(dir);
    }
    match asset_sizes(&args.dist.join("acapp")) {
        Ok((assets, total)) => (report.assets, report.assets_gzip_total) = (assets, total),
        Err(e) => report.notes.push(format!("No frontend sizes: {e}")),
    }
    if let Some(dir) = &args.dist_without_game {
        match asset_sizes(&dir.join("acapp")) {
            Ok((_, total)) => report.assets_gzip_without_game = Some(total),
            Err(e) => report.notes.push(format!("No size without the game: {e}")),
        }
    }
    match browser::measure(&stack, if args.quick { 3 } else { 10 }).await {
        Ok(times) => report.browser = Some(times),
        Err(e) => report.notes.push(format!("No browser timings: {e}")),
    }
    notes(&mut report);

    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let write = |name: &str, body: String| {
        std::fs::write(args.out.join(name), body).map_err(|e| format!("cannot write {name}: {e}"))
    };
    write("report.md", report.markdown())?;
    write(
        "report.json",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )?;
    report.plot(&args.out.join("latency.svg"))?;
    eprintln!(
        "bench: wrote {}/report.md, report.json, latency.svg",
        args.out.display()
    );
    Ok(())
}

/// What the targets in the issue say, checked against what was measured.
fn notes(report: &mut Report) {
    let at = |players: &str, upstream: u64, in_flight: usize| {
        report
            .cells
            .iter()
            .find(|c| c.players == players && c.upstream_ms == upstream && c.in_flight == in_flight)
    };
    let mut notes = Vec::new();
    for cell in report.cells.iter().filter(|c| c.errors > 0) {
        notes.push(format!(
            "{} errors with {} players, {} ms upstream, {} in flight; the first: {}.",
            cell.errors,
            cell.players,
            cell.upstream_ms,
            cell.in_flight,
            cell.error_samples.join("; ")
        ));
    }
    if let Some(cell) = at("new", 0, 64) {
        notes.push(format!(
            "Backend CPU per new-player login with the upstream on loopback (64 in flight): {:.0} µs (target ≤ 200 µs).",
            cell.backend_cpu_us_per_login
        ));
    }
    if let Some(cell) = at("new", 100, 1000) {
        notes.push(format!(
            "At 1000 in flight and 100 ms upstream: achieved / the smaller ideal {} (target ≥ 0.9), p99 overhead {} ms.",
            opt2(cell.limit.as_ref().map(|limit| limit.achieved_over_bound)),
            opt2(cell.p99_overhead_ms)
        ));
        if cell.generator_cpu_share > 0.8 {
            notes.push(format!(
                "The load generator used {:.2} cores in that cell: on 2 cores it competes with the server and the simulator.",
                cell.generator_cpu_share
            ));
        }
    }
    report.notes.extend(notes);
}

fn opt2(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} cores, {model}", cores())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Runs `bench state-memory` in a fresh process and reads its answer.
fn measure_state_memory() -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let output = std::process::Command::new(exe)
        .arg("state-memory")
        .output()
        .ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(f64::NAN);
    pages * 4096.0
}

/// Resident memory per outstanding web state (the larger kind: it carries
/// the browser nonce), at 1 million of them.
fn state_memory() -> f64 {
    use backend::login::state::{issue, Flow, MemoryStateStore};
    const STATES: usize = 1_000_000;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = MemoryStateStore::new(STATES + 1);
        let nonce = backend::secret::random_hex(16);
        let before = resident_bytes();
        for _ in 0..STATES {
            issue(
                &*store,
                Flow::Web,
                Some(nonce.clone()),
                Duration::from_secs(600),
            )
            .await
            .expect("below the cap");
        }
        let after = resident_bytes();
        assert_eq!(store.len(), STATES);
        (after - before) / STATES as f64
    })
}

/// criterion's mean estimate for `name`, in nanoseconds.
fn criterion_mean(dir: &Path, name: &str) -> Option<f64> {
    let raw = std::fs::read_to_string(dir.join(name).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&raw).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// The threaded runs of `backend/benches/state_store.rs`, a row per thread
/// count that has any.
fn state_threads(dir: &Path) -> Vec<StateThreads> {
    let mean = |run: &str, threads: usize| {
        criterion_mean(dir, &format!("state_store_threads/{run}/{threads}"))
    };
    [1, 2, 4, 8]
        .into_iter()
        .map(|threads| StateThreads {
            threads,
            issue_sharded_ns: mean("issue_sharded", threads),
            issue_single_lock_ns: mean("issue_single_lock", threads),
            consume_sharded_ns: mean("consume_sharded", threads),
            consume_single_lock_ns: mean("consume_single_lock", threads),
        })
        .filter(|row| {
            [
                row.issue_sharded_ns,
                row.issue_single_lock_ns,
                row.consume_sharded_ns,
                row.consume_single_lock_ns,
            ]
            .iter()
            .any(Option::is_some)
        })
        .collect()
}

/// Raw, gzip and brotli sizes of the wasm, JS and CSS in `dir`.
fn asset_sizes(dir: &Path) -> Result<(Vec<AssetSize>, u64), String> {
    use std::io::Write;
    let mut sizes = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css")) {
            continue;
        }
        let raw = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).map_err(|e| e.to_string())?;
        let gzip = gz.finish().map_err(|e| e.to_string())?.len() as u64;
        let mut br = Vec::new();
        brotli::BrotliCompress(
            &mut raw.as_slice(),
            &mut br,
            &brotli::enc::BrotliEncoderParams::default(),
        )
        .map_err(|e| e.to_string())?;
        sizes.push(AssetSize {
            file: name,
            raw: raw.len() as u64,
            gzip,
            brotli: br.len() as u64,
        });
    }
    sizes.sort_by(|a, b| a.file.cmp(&b.file));
    let total = sizes.iter().map(|s| s.gzip).sum();
    Ok((sizes, total))
}
