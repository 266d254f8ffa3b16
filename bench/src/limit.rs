//! How near a loaded login cell came to what this machine allows: the
//! arithmetic behind the report's "How near the limit" section (written by
//! `report`) and each cell's `limit` in `report.json`.

use serde::Serialize;

/// Issue 18: the backend, the generator and the simulator together should
/// keep this many cores busy at 0 ms upstream and 1000 in flight.
pub const CORES_TARGET: f64 = 1.85;
/// Issue 18: p99 above the upstream latency at 64 in flight and 100 ms.
pub const P99_OVERHEAD_TARGET_MS: f64 = 10.0;

/// Below this many logins in flight a cell is not loaded: with one login at
/// a time the CPU per login charges an idle server's time to few logins, so
/// a CPU-bound ideal from it means nothing.
pub const LOADED_FROM_IN_FLIGHT: usize = 2;

/// A loaded cell against the two ceilings of this machine: the CPU (every
/// core busy with logins) and the upstream latency (every login in flight
/// waiting only on AcWing). Achieved over the smaller of the two says how
/// much a faster server could still gain there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearLimit {
    /// CPU of the backend, the generator and the simulator together, per login.
    pub cpu_us_per_login: f64,
    /// The machine's cores / `cpu_us_per_login`.
    pub cpu_bound_per_sec: f64,
    /// In flight / upstream latency per login; `None` (unbounded) at 0 ms.
    pub latency_bound_per_sec: Option<f64>,
    /// Achieved logins/s over the smaller ideal.
    pub achieved_over_bound: f64,
    /// Which ideal was the smaller: `cpu` or `latency`.
    pub bound_by: &'static str,
}

/// `cores` busy only with logins costing `cpu_us_per_login` each.
pub fn cpu_bound_per_sec(cores: usize, cpu_us_per_login: f64) -> f64 {
    cores as f64 / (cpu_us_per_login / 1e6)
}

/// Logins in flight each waiting `upstream_secs` on AcWing and nothing else.
/// No upstream latency puts no bound on the rate: `None`, not infinity
/// (which JSON cannot carry).
pub fn latency_bound_per_sec(in_flight: usize, upstream_secs: f64) -> Option<f64> {
    (upstream_secs > 0.0).then(|| in_flight as f64 / upstream_secs)
}

impl NearLimit {
    /// `upstream_secs` is the latency one login waits on AcWing in all (its
    /// round trips times the injected latency); `cpu_secs` what the three
    /// processes spent while the cell ran. `None` for a cell that is not
    /// loaded or completed no login.
    pub fn of_cell(
        in_flight: usize,
        logins: usize,
        logins_per_sec: f64,
        cpu_secs: f64,
        cores: usize,
        upstream_secs: f64,
    ) -> Option<NearLimit> {
        // NaN (a process's /proc unreadable) is no CPU figure either.
        let measured = cpu_secs.is_finite() && cpu_secs > 0.0;
        if in_flight < LOADED_FROM_IN_FLIGHT || logins == 0 || cores == 0 || !measured {
            return None;
        }
        let cpu_us_per_login = cpu_secs / logins as f64 * 1e6;
        let cpu_bound = cpu_bound_per_sec(cores, cpu_us_per_login);
        let latency_bound = latency_bound_per_sec(in_flight, upstream_secs);
        let (bound, bound_by) = match latency_bound {
            Some(latency) if latency < cpu_bound => (latency, "latency"),
            _ => (cpu_bound, "cpu"),
        };
        Some(NearLimit {
            cpu_us_per_login,
            cpu_bound_per_sec: cpu_bound,
            latency_bound_per_sec: latency_bound,
            achieved_over_bound: logins_per_sec / bound,
            bound_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_bound_ideal_is_the_cores_over_the_cpu_per_login() {
        // 2 cores, 500 µs a login: 4,000 logins/s keep both busy.
        assert_eq!(cpu_bound_per_sec(2, 500.0), 4000.0);
        assert_eq!(cpu_bound_per_sec(1, 250.0), 4000.0);
    }

    #[test]
    fn the_latency_bound_ideal_is_in_flight_over_the_upstream_latency() {
        // 64 new players at 100 ms: two round trips, 200 ms a login.
        assert_eq!(latency_bound_per_sec(64, 0.2), Some(320.0));
        assert_eq!(latency_bound_per_sec(1000, 0.1), Some(10_000.0));
        assert_eq!(latency_bound_per_sec(1000, 0.0), None);
    }

    #[test]
    fn a_cell_is_held_to_the_smaller_ideal() {
        // 64 in flight, 200 ms upstream: latency allows 320/s; 2 s of CPU for
        // 600 logins (3,333 µs each) on 2 cores allows 600/s.
        let latency = NearLimit::of_cell(64, 600, 300.0, 2.0, 2, 0.2).unwrap();
        assert_eq!(latency.bound_by, "latency");
        assert_eq!(latency.latency_bound_per_sec, Some(320.0));
        assert!((latency.cpu_us_per_login - 3333.33).abs() < 0.01);
        assert!((latency.cpu_bound_per_sec - 600.0).abs() < 1e-9);
        assert!((latency.achieved_over_bound - 300.0 / 320.0).abs() < 1e-12);

        // 1000 in flight at 100 ms allows 10,000/s, but 500 µs of CPU a
        // login on 2 cores only 4,000/s.
        let cpu = NearLimit::of_cell(1000, 20_000, 2000.0, 10.0, 2, 0.1).unwrap();
        assert_eq!(cpu.bound_by, "cpu");
        assert!((cpu.cpu_bound_per_sec - 4000.0).abs() < 1e-9);
        assert!((cpu.achieved_over_bound - 0.5).abs() < 1e-12);
    }

    #[test]
    fn without_upstream_latency_only_the_cpu_bounds() {
        let cell = NearLimit::of_cell(1000, 4000, 2000.0, 1.6, 2, 0.0).unwrap();
        assert_eq!(cell.latency_bound_per_sec, None);
        assert_eq!(cell.bound_by, "cpu");
        // 400 µs a login: 5,000/s on 2 cores, of which 2,000 were reached.
        assert!((cell.cpu_bound_per_sec - 5000.0).abs() < 1e-9);
        assert!((cell.achieved_over_bound - 0.4).abs() < 1e-12);
        let json = serde_json::to_value(&cell).unwrap();
        assert!(json["latency_bound_per_sec"].is_null());
    }

    #[test]
    fn unloaded_or_empty_cells_have_no_limit() {
        assert_eq!(NearLimit::of_cell(1, 100, 50.0, 0.1, 2, 0.1), None);
        assert_eq!(NearLimit::of_cell(64, 0, 0.0, 0.1, 2, 0.1), None);
        assert_eq!(NearLimit::of_cell(64, 100, 50.0, f64::NAN, 2, 0.1), None);
    }
}
