//! Figures, and the report files they go into: `report.md`, `report.json`
//! and `latency.svg` under `target/bench/`.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use serde::Serialize;

use crate::limit::{NearLimit, CORES_TARGET, LOADED_FROM_IN_FLIGHT, P99_OVERHEAD_TARGET_MS};
use crate::load::{Outcome, Players};

/// One cell of the login matrix.
#[derive(Debug, Serialize)]
pub struct Cell {
    pub players: &'static str,
    pub upstream_ms: u64,
    pub in_flight: usize,
    pub logins: usize,
    pub errors: u64,
    /// The first few errors' messages.
    pub error_samples: Vec<String>,
    pub logins_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub backend_cpu_us_per_login: f64,
    /// Cores used while the cell ran, by each process and by all three.
    pub backend_cpu_share: f64,
    pub sim_cpu_share: f64,
    pub generator_cpu_share: f64,
    pub all_cpu_share: f64,
    /// (logins in flight) / (upstream round trips × latency); only with latency.
    pub ideal_per_sec: Option<f64>,
    pub achieved_over_ideal: Option<f64>,
    /// p99 above the injected upstream latency, in ms.
    pub p99_overhead_ms: Option<f64>,
    /// How near this cell came to what the machine allows; loaded cells only.
    pub limit: Option<NearLimit>,
}

/// CPU seconds spent by each process while a cell ran.
pub struct CpuSpent {
    pub backend: f64,
    pub sim: f64,
    pub generator: f64,
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

impl Cell {
    pub fn new(
        players: Players,
        upstream_ms: u64,
        in_flight: usize,
        mut outcome: Outcome,
        cpu: CpuSpent,
        cores: usize,
    ) -> Cell {
        outcome.latencies.sort_unstable();
        let logins = outcome.latencies.len();
        let secs = outcome.elapsed.as_secs_f64();
        let logins_per_sec = logins as f64 / secs;
        let upstream = (players.round_trips() * upstream_ms) as f64;
        let p99_ms = percentile(&outcome.latencies, 0.99);
        let ideal = (upstream_ms > 0).then(|| in_flight as f64 / (upstream / 1000.0));
        Cell {
            players: match players {
                Players::New => "new",
                Players::Returning => "returning",
            },
            upstream_ms,
            in_flight,
            logins,
            errors: outcome.errors,
            error_samples: outcome.error_samples,
            logins_per_sec,
            p50_ms: percentile(&outcome.latencies, 0.5),
            p99_ms,
            backend_cpu_us_per_login: cpu.backend / logins.max(1) as f64 * 1e6,
            backend_cpu_share: cpu.backend / secs,
            sim_cpu_share: cpu.sim / secs,
            generator_cpu_share: cpu.generator / secs,
            all_cpu_share: (cpu.backend + cpu.sim + cpu.generator) / secs,
            ideal_per_sec: ideal,
            achieved_over_ideal: ideal.map(|ideal| logins_per_sec / ideal),
            p99_overhead_ms: (upstream_ms > 0).then_some(p99_ms - upstream),
            limit: NearLimit::of_cell(
                in_flight,
                logins,
                logins_per_sec,
                cpu.backend + cpu.sim + cpu.generator,
                cores,
                upstream / 1000.0,
            ),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AssetSize {
    pub file: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

#[derive(Debug, Serialize, Default)]
pub struct Report {
    pub machine: String,
    pub quick: bool,
    pub cells: Vec<Cell>,
    pub healthz_per_sec: f64,
    pub apply_code_per_sec: f64,
    pub apply_code_over_healthz: f64,
    /// Cores the generator used while it drove the apply_code probe.
    pub apply_code_probe_generator_cpu: f64,
    pub generator: Option<GeneratorCheck>,
    pub state_bytes_each: Option<f64>,
    pub state_issue_ns: Option<f64>,
    pub state_consume_ns: Option<f64>,
    /// Issue and consume from 1, 2, 4 and 8 threads at once, the sharded
    /// store against the single-lock one it replaced (criterion).
    pub state_threads: Vec<StateThreads>,
    pub assets: Vec<AssetSize>,
    pub assets_gzip_total: u64,
    /// The same total built without the sample game, when it was built.
    pub assets_gzip_without_game: Option<u64>,
    pub browser: Option<BrowserTimes>,
    pub notes: Vec<String>,
}

/// Whether the load generator, rather than the server, limited the login
/// cells: its peak CPU there against what it demonstrably drives.
#[derive(Debug, Serialize)]
pub struct GeneratorCheck {
    /// The most cores the generator used in any login cell, and which.
    pub peak_cpu_cores: f64,
    pub peak_cpu_cell: String,
    /// HTTP requests per second it drove in the busiest login cell (three
    /// per login: apply_code, authorize, receive_code), and which.
    pub busiest_cell_requests_per_sec: f64,
    pub busiest_cell: String,
    /// What it drove in the apply_code probe, and with how many cores.
    pub probe_requests_per_sec: f64,
    pub probe_cpu_cores: f64,
    pub cores: usize,
    pub not_the_bottleneck: bool,
    pub summary: String,
}

/// Requests the generator sends per login.
pub const REQUESTS_PER_LOGIN: f64 = 3.0;

impl GeneratorCheck {
    pub fn new(report: &Report, cores: usize) -> Option<GeneratorCheck> {
        let name = |c: &Cell| {
            format!(
                "{}, {} ms, {} in flight",
                c.players, c.upstream_ms, c.in_flight
            )
        };
        let peak = report
            .cells
            .iter()
            .max_by(|a, b| a.generator_cpu_share.total_cmp(&b.generator_cpu_share))?;
        let busiest = report
            .cells
            .iter()
            .max_by(|a, b| a.logins_per_sec.total_cmp(&b.logins_per_sec))?;
        let busiest_rps = busiest.logins_per_sec * REQUESTS_PER_LOGIN;
        let probe = report.apply_code_per_sec;
        let margin = probe / busiest_rps;
        // The probe's requests are simpler than a login's (no form, no
        // cookies), so demand a wide margin before calling it settled.
        let not_the_bottleneck = margin >= 2.0 && peak.generator_cpu_share < cores as f64 / 2.0;
        let summary = format!(
            "Load generator: peak {:.2} of {cores} cores across the login cells ({}); the busiest \
             login cell ({}) needed {:.0} HTTP requests/s from it ({:.0} logins/s × 3), while in the \
             apply_code probe it completed {:.0} req/s ({:.1}×) on {:.2} cores. {}",
            peak.generator_cpu_share,
            name(peak),
            name(busiest),
            busiest_rps,
            busiest.logins_per_sec,
            probe,
            margin,
            report.apply_code_probe_generator_cpu,
            if not_the_bottleneck {
                "So the generator was not the bottleneck of the login cells."
            } else {
                "So the generator may have limited the login cells: treat their rates as a lower bound."
            }
        );
        Some(GeneratorCheck {
            peak_cpu_cores: peak.generator_cpu_share,
            peak_cpu_cell: name(peak),
            busiest_cell_requests_per_sec: busiest_rps,
            busiest_cell: name(busiest),
            probe_requests_per_sec: probe,
            probe_cpu_cores: report.apply_code_probe_generator_cpu,
            cores,
            not_the_bottleneck,
            summary,
        })
    }
}

/// One row of the state store's thread table, in ns per operation of all
/// threads together (their wall time over all their operations).
#[derive(Debug, Serialize)]
pub struct StateThreads {
    pub threads: usize,
    pub issue_sharded_ns: Option<f64>,
    pub issue_single_lock_ns: Option<f64>,
    pub consume_sharded_ns: Option<f64>,
    pub consume_single_lock_ns: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct BrowserTimes {
    pub runs: usize,
    pub login_interactive_ms: f64,
    pub acgame_to_screen_ms: f64,
}

pub(crate) fn fmt(value: f64, digits: usize) -> String {
    if value.is_finite() {
        format!("{value:.digits$}")
    } else {
        "–".to_owned()
    }
}

pub(crate) fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| fmt(v, digits))
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Benchmark report\n\nMachine: {}. Mode: {}.\n\n## Full web logins\n\n\
             | players | upstream | in flight | logins | errors | logins/s | p50 ms | p99 ms | backend CPU µs/login | achieved / latency-bound ideal | p99 overhead ms | backend CPU | generator CPU | simulator CPU | all three |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.machine,
            if self.quick { "quick" } else { "full" }
        );
        for c in &self.cells {
            md.push_str(&format!(
                "| {} | {} ms | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                c.players,
                c.upstream_ms,
                c.in_flight,
                c.logins,
                c.errors,
                fmt(c.logins_per_sec, 0),
                fmt(c.p50_ms, 1),
                fmt(c.p99_ms, 1),
                fmt(c.backend_cpu_us_per_login, 0),
                opt(c.achieved_over_ideal, 2),
                opt(c.p99_overhead_ms, 1),
                fmt(c.backend_cpu_share, 2),
                fmt(c.generator_cpu_share, 2),
                fmt(c.sim_cpu_share, 2),
                fmt(c.all_cpu_share, 2),
            ));
        }
        md.push_str(&format!(
            "\nCPU columns, from /proc: the backend's CPU per login, then the cores each process \
             (and all three together) used while the cell ran.\n\n{}\n\n{}## apply_code cost\n\n\
             apply_code {} req/s, /healthz {} req/s: ratio **{}**.\n\n## State store\n\n\
             Bytes per outstanding state at 1 million states: **{}**. Issue: {} ns; consume: {} ns (criterion).\n\n{}\
             ## Frontend\n\n| file | raw | gzip | brotli |\n|---|---|---|---|\n",
            self.generator
                .as_ref()
                .map_or("Load generator: no login cells ran.", |g| g.summary.as_str()),
            near_limit_markdown(&self.cells),
            fmt(self.apply_code_per_sec, 0),
            fmt(self.healthz_per_sec, 0),
            fmt(self.apply_code_over_healthz, 2),
            opt(self.state_bytes_each, 1),
            opt(self.state_issue_ns, 0),
            opt(self.state_consume_ns, 0),
            self.state_threads_table(),
        ));
        for a in &self.assets {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                a.file, a.raw, a.gzip, a.brotli
            ));
        }
        md.push_str(&format!(
            "\nwasm + JS + CSS, gzip: **{} bytes**.\n",
            self.assets_gzip_total
        ));
        if let Some(without) = self.assets_gzip_without_game {
            md.push_str(&format!(
                "Without the sample game (`--no-default-features`): {without} bytes, so the game \
                 adds **{} bytes** gzip.\n",
                self.assets_gzip_total as i64 - without as i64
            ));
        }
        if let Some(b) = &self.browser {
            md.push_str(&format!(
                "\nHeadless Chromium, median of {} runs: login button interactive {} ms after \
                 navigation; `new AcGame(...)` to a rendered screen in the simulated AcApp window {} ms.\n",
                b.runs,
                fmt(b.login_interactive_ms, 0),
                fmt(b.acgame_to_screen_ms, 0)
            ));
        }
        if !self.notes.is_empty() {
            md.push_str("\n## Notes\n\n");
            for note in &self.notes {
                md.push_str(&format!("- {note}\n"));
            }
        }
        md
    }

    /// The state store from several threads, or nothing if criterion's
    /// threaded runs are missing.
    fn state_threads_table(&self) -> String {
        if self.state_threads.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "From several threads at once, ns per operation of all threads together (lower is \
             more throughput; more threads than cores only share them):\n\n\
             | threads | issue, sharded | issue, single lock | consume, sharded | consume, single lock |\n\
             |---|---|---|---|---|\n",
        );
        for row in &self.state_threads {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                row.threads,
                opt(row.issue_sharded_ns, 0),
                opt(row.issue_single_lock_ns, 0),
                opt(row.consume_sharded_ns, 0),
                opt(row.consume_single_lock_ns, 0),
            ));
        }
        md.push('\n');
        md
    }

    /// p50 and p99 latency against logins in flight, one line per scenario.
    pub fn plot(&self, path: &Path) -> Result<(), String> {
        let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max_ms = self
            .cells
            .iter()
            .map(|c| c.p99_ms)
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption("Login latency against logins in flight", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d((1f64..1000f64).log_scale(), 0f64..max_ms * 1.1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("logins in flight")
            .y_desc("latency (ms)")
            .draw()
            .map_err(|e| e.to_string())?;
        let mut series = Vec::new();
        for c in &self.cells {
            let key = (c.players, c.upstream_ms);
            if !series.contains(&key) {
                series.push(key);
            }
        }
        for (i, (players, upstream)) in series.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            for (label, p99) in [("p50", false), ("p99", true)] {
                let points: Vec<(f64, f64)> = self
                    .cells
                    .iter()
                    .filter(|c| c.players == players && c.upstream_ms == upstream)
                    .map(|c| (c.in_flight as f64, if p99 { c.p99_ms } else { c.p50_ms }))
                    .filter(|(_, v)| v.is_finite())
                    .collect();
                let style = if p99 {
                    color.stroke_width(1)
                } else {
                    color.stroke_width(3)
                };
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(|e| e.to_string())?
                    .label(format!("{players}, {upstream} ms upstream, {label}"))
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    }
}

/// The "How near the limit" section of `report.md`: each loaded cell against
/// its two ideals, then the issue's targets for cores and p99 overhead.
fn near_limit_markdown(cells: &[Cell]) -> String {
    let mut md = format!(
        "## How near the limit\n\n\
         For each loaded cell (at least {LOADED_FROM_IN_FLIGHT} logins in flight): the CPU-bound ideal \
         is the machine's cores divided by the CPU per login of the backend, the generator and the \
         simulator together, as measured in that cell; the latency-bound ideal is the logins in \
         flight divided by the upstream latency one login waits (two round trips for a new player, \
         one for a returning one). With 0 ms upstream there is no latency bound (\"unbounded\" \
         here, `null` in report.json), so the CPU-bound ideal is the smaller. The p99 overhead is \
         the p99 above that upstream latency.\n\n\
         | players | upstream | in flight | logins/s | cores, all three | CPU µs/login, all three | CPU-bound ideal/s | latency-bound ideal/s | achieved / smaller ideal | bound by | p99 overhead ms |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for c in cells {
        let Some(limit) = &c.limit else { continue };
        md.push_str(&format!(
            "| {} | {} ms | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.players,
            c.upstream_ms,
            c.in_flight,
            fmt(c.logins_per_sec, 0),
            fmt(c.all_cpu_share, 2),
            fmt(limit.cpu_us_per_login, 0),
            fmt(limit.cpu_bound_per_sec, 0),
            limit
                .latency_bound_per_sec
                .map_or_else(|| "unbounded".to_owned(), |v| fmt(v, 0)),
            fmt(limit.achieved_over_bound, 2),
            limit.bound_by,
            opt(c.p99_overhead_ms, 1),
        ));
    }
    md.push('\n');
    for target in targets(cells) {
        md.push_str(&format!("- {target}\n"));
    }
    md.push('\n');
    md
}

/// The issue's targets on cores and p99 overhead, for new and returning
/// players, stated against what their cells measured.
fn targets(cells: &[Cell]) -> Vec<String> {
    let at = |players: &str, upstream_ms: u64, in_flight: usize| {
        cells.iter().find(|c| {
            c.players == players && c.upstream_ms == upstream_ms && c.in_flight == in_flight
        })
    };
    let mut targets = Vec::new();
    for players in ["new", "returning"] {
        if let Some(c) = at(players, 0, 1000) {
            targets.push(format!(
                "{players} players, 0 ms upstream, 1000 in flight: the three processes used {} \
                 cores (target ≥ {CORES_TARGET}).",
                fmt(c.all_cpu_share, 2)
            ));
        }
    }
    for players in ["new", "returning"] {
        if let Some(c) = at(players, 100, 64) {
            targets.push(format!(
                "{players} players, 100 ms upstream, 64 in flight: p99 {} ms over the upstream \
                 latency (target ≤ {P99_OVERHEAD_TARGET_MS} ms).",
                opt(c.p99_overhead_ms, 1)
            ));
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_shows_loaded_cells_and_the_targets() {
        let cell = |players, upstream_ms, in_flight, logins: u64, ms: u64| {
            let outcome = Outcome {
                latencies: vec![Duration::from_millis(ms); logins as usize],
                elapsed: Duration::from_secs(1),
                ..Outcome::default()
            };
            let cpu = CpuSpent {
                backend: 1.0,
                sim: 0.3,
                generator: 0.3,
            };
            Cell::new(players, upstream_ms, in_flight, outcome, cpu, 2)
        };
        let cells = [
            cell(Players::New, 0, 1, 1000, 1),
            cell(Players::New, 0, 1000, 2000, 400),
            cell(Players::New, 100, 64, 300, 212),
        ];
        assert_eq!(cells[0].limit, None);
        let md = near_limit_markdown(&cells);
        // 1.6 s of CPU for 2,000 logins: 800 µs each, 2,500/s on 2 cores.
        assert!(
            md.contains(
                "| new | 0 ms | 1000 | 2000 | 1.60 | 800 | 2500 | unbounded | 0.80 | cpu | – |"
            ),
            "{md}"
        );
        // 64 new players at 2 × 100 ms: 320/s; p99 212 ms is 12 ms over.
        assert!(
            md.contains(
                "| new | 100 ms | 64 | 300 | 1.60 | 5333 | 375 | 320 | 0.94 | latency | 12.0 |"
            ),
            "{md}"
        );
        assert!(!md.contains("| new | 0 ms | 1 |"), "{md}");
        assert!(md.contains(
            "0 ms upstream, 1000 in flight: the three processes used 1.60 cores (target ≥ 1.85)"
        ));
        assert!(md.contains(
            "100 ms upstream, 64 in flight: p99 12.0 ms over the upstream latency (target ≤ 10 ms)"
        ));
    }
}
