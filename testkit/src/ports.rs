//! Free TCP ports on loopback.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::sync::{Mutex, PoisonError};

use rand::Rng;

/// A TCP port on 127.0.0.1 that was free a moment ago, for a child process
/// or a server's command line that must be told its port.
///
/// The port is drawn from below the kernel's ephemeral range. Asking the
/// kernel for port 0 would hand out a port from that range, which every
/// outgoing connection of every parallel test also draws from: a health
/// poll's socket could take the port before the child binds it (CI saw
/// exactly that). Ports outside the range are only ever bound on purpose,
/// and this process never hands the same one out twice.
///
/// Another process may still bind the port first. Where the caller can hand
/// over a listener instead (an in-process server), binding `127.0.0.1:0` and
/// keeping the listener has no such window.
///
/// # Panics
///
/// If no port in the range can be bound after many tries.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let range = unclaimed_range(ephemeral_range());
    let mut rng = rand::thread_rng();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    for _ in 0..10_000 {
        let port = rng.gen_range(range.clone());
        if handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no free TCP port on 127.0.0.1 in {range:?}");
}

/// The range the kernel picks outgoing and port-0 ports from.
fn ephemeral_range() -> RangeInclusive<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut bounds = text.split_whitespace().map(str::parse::<u16>);
            Some(bounds.next()?.ok()?..=bounds.next()?.ok()?)
        })
        // Linux's default, and what the file says on these machines.
        .unwrap_or(32_768..=60_999)
}

/// The larger stretch of unprivileged ports on either side of `ephemeral`,
/// leaving the lowest thousands to well-known services.
fn unclaimed_range(ephemeral: RangeInclusive<u16>) -> RangeInclusive<u16> {
    const LOWEST: u16 = 10_000;
    let below = LOWEST..=ephemeral.start().saturating_sub(1);
    let above = ephemeral.end().saturating_add(1)..=u16::MAX;
    let width = |r: &RangeInclusive<u16>| r.end().saturating_sub(*r.start());
    if width(&below) >= width(&above) && below.start() < below.end() {
        below
    } else if above.start() < above.end() {
        above
    } else {
        // The whole unprivileged space is ephemeral; nothing is safer.
        LOWEST..=u16::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_free_port_lies_outside_the_ephemeral_range_and_is_not_repeated() {
        let ephemeral = ephemeral_range();
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        for port in &ports {
            assert!(!ephemeral.contains(port), "{port} is in {ephemeral:?}");
            assert!(*port >= 10_000);
        }
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }

    #[test]
    fn the_unclaimed_range_is_the_wider_side() {
        assert_eq!(unclaimed_range(32_768..=60_999), 10_000..=32_767);
        assert_eq!(unclaimed_range(10_000..=20_000), 20_001..=65_535);
        assert_eq!(unclaimed_range(1_024..=65_535), 10_000..=65_535);
    }
}
