//! Per-client limits on every endpoint that reaches a store or AcWing:
//! the login endpoints, and getinfo, refresh and logout.
//!
//! Both apply_code endpoints share one budget per client, and both
//! receive_code endpoints another, so switching flows buys nothing. Every
//! receive_code is charged before its state is even looked at: an attempt
//! with a forged or unknown state costs the client as much as a real one,
//! so nobody can make us call AcWing's token endpoint (with our secret) or
//! probe the state store faster than the limit. The session routes are
//! charged before their credential is looked at, for the same reason.
//!
//! The counting is `governor`'s GCRA, keyed by [`limit_key`]: a token
//! bucket that refills at `per_minute` and holds `burst`.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::http::header;
use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::http::client_ip::{limit_key, TrustedProxies};

/// One limit: a sustained rate and the burst allowed on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    pub const fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { per_minute, burst }
    }
}

/// A request over its client's limit; `retry_after` is when one more
/// request would be allowed.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("too many requests from this client; retry in {retry_after:?}")]
pub struct RateLimited {
    pub retry_after: Duration,
}

impl RateLimited {
    /// Whole seconds for `Retry-After`, never 0 (a client told "0" retries
    /// at once and is refused again).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// What a client is charged for; each has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ApplyCode,
    ReceiveCode,
    Getinfo,
    Refresh,
    Logout,
}

pub struct RateLimits {
    apply_code: DefaultKeyedRateLimiter<IpAddr>,
    receive_code: DefaultKeyedRateLimiter<IpAddr>,
    getinfo: DefaultKeyedRateLimiter<IpAddr>,
    refresh: DefaultKeyedRateLimiter<IpAddr>,
    logout: DefaultKeyedRateLimiter<IpAddr>,
    proxies: TrustedProxies,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> DefaultKeyedRateLimiter<K> {
    governor::RateLimiter::keyed(Quota::per_minute(rate.per_minute).allow_burst(rate.burst))
}

fn limited(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> RateLimited {
    RateLimited {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    }
}

/// Each endpoint's rate, per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRates {
    pub apply_code: Rate,
    pub receive_code: Rate,
    pub getinfo: Rate,
    pub refresh: Rate,
    pub logout: Rate,
}

impl RateLimits {
    pub fn new(rates: &ClientRates, proxies: TrustedProxies) -> Arc<Self> {
        Arc::new(Self {
            apply_code: keyed(rates.apply_code),
            receive_code: keyed(rates.receive_code),
            getinfo: keyed(rates.getinfo),
            refresh: keyed(rates.refresh),
            logout: keyed(rates.logout),
            proxies,
        })
    }

    fn limiter(&self, endpoint: Endpoint) -> &DefaultKeyedRateLimiter<IpAddr> {
        match endpoint {
            Endpoint::ApplyCode => &self.apply_code,
            Endpoint::ReceiveCode => &self.receive_code,
            Endpoint::Getinfo => &self.getinfo,
            Endpoint::Refresh => &self.refresh,
            Endpoint::Logout => &self.logout,
        }
    }

    fn all(&self) -> [&DefaultKeyedRateLimiter<IpAddr>; 5] {
        [
            &self.apply_code,
            &self.receive_code,
            &self.getinfo,
            &self.refresh,
            &self.logout,
        ]
    }

    /// The client's address (see [`crate::http::client_ip`]). Without a peer
    /// address, which a TCP listener always has, every such request shares
    /// one budget rather than escaping the limit.
    pub fn client(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map(|addr| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded = req
            .headers()
            .get_all(header::X_FORWARDED_FOR)
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>();
        self.proxies.client_ip(peer, forwarded.into_iter())
    }

    /// Charges one request by `client` to `endpoint`'s budget.
    pub fn check(&self, endpoint: Endpoint, client: IpAddr) -> Result<(), RateLimited> {
        self.limiter(endpoint)
            .check_key(&limit_key(client))
            .map_err(limited)
    }

    /// Clients the limiters currently remember (for tests and the log).
    pub fn tracked_clients(&self) -> usize {
        self.all().iter().map(|limiter| limiter.len()).sum()
    }

    /// Forgets clients whose buckets are full again, off the request path,
    /// so addresses seen once do not stay in memory forever.
    pub fn spawn_cleaner(self: &Arc<Self>, every: Duration) {
        let limits: Weak<Self> = Arc::downgrade(self);
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(limits) = limits.upgrade() else {
                    break;
                };
                limits.forget_idle();
            }
        });
    }

    /// Drops every client whose bucket is full again (as if never seen) and
    /// gives the memory back.
    pub fn forget_idle(&self) {
        for limiter in self.all() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// How often one session may refresh, wherever its requests come from: a
/// client that refreshes in a loop gains nothing, and a stolen refresh
/// token cannot be spun faster than the player's own app would.
/// Per instance (with several, each counts its own share).
pub struct SessionRefreshLimit {
    limiter: DefaultKeyedRateLimiter<i64>,
}

impl SessionRefreshLimit {
    pub fn new(rate: Rate) -> Self {
        Self {
            limiter: keyed(rate),
        }
    }

    /// Charges one refresh to the session `family`.
    pub fn check(&self, family: i64) -> Result<(), RateLimited> {
        self.limiter.check_key(&family).map_err(limited)
    }

    /// Forgets sessions whose budget has refilled.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_minute: u32, burst: u32) -> Rate {
        Rate::new(
            NonZeroU32::new(per_minute).unwrap(),
            NonZeroU32::new(burst).unwrap(),
        )
    }

    fn limits(apply_code: Rate, receive_code: Rate) -> Arc<RateLimits> {
        let other = rate(60, 10);
        let rates = ClientRates {
            apply_code,
            receive_code,
            getinfo: other,
            refresh: other,
            logout: other,
        };
        RateLimits::new(&rates, TrustedProxies::default())
    }

    #[test]
    fn a_burst_passes_then_the_client_waits_and_others_do_not() {
        let limits = limits(rate(60, 3), rate(60, 3));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            limits.check(Endpoint::ApplyCode, a).unwrap();
        }
        let refused = limits.check(Endpoint::ApplyCode, a).unwrap_err();
        assert!(refused.retry_after <= Duration::from_secs(1));
        assert_eq!(refused.retry_after_secs(), 1);
        // Another client, and the other endpoints, have their own budgets.
        limits.check(Endpoint::ApplyCode, b).unwrap();
        limits.check(Endpoint::ReceiveCode, a).unwrap();
        limits.check(Endpoint::Refresh, a).unwrap();
    }

    #[test]
    fn a_session_that_refreshes_in_a_loop_is_held_back_and_others_are_not() {
        let limit = SessionRefreshLimit::new(rate(6, 2));
        limit.check(7).unwrap();
        limit.check(7).unwrap();
        let refused = limit.check(7).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(5), "{refused:?}");
        limit.check(8).unwrap();
    }

    #[test]
    fn clients_are_forgotten_once_their_bucket_refills() {
        // One request a millisecond: any bucket is full again at once.
        let limits = limits(rate(60_000, 1), rate(60_000, 1));
        for i in 0..1000u32 {
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limits.check(Endpoint::ApplyCode, client).unwrap();
        }
        assert_eq!(limits.tracked_clients(), 1000);
        std::thread::sleep(Duration::from_millis(20));
        limits.forget_idle();
        assert_eq!(limits.tracked_clients(), 0);
    }

    #[test]
    fn addresses_in_one_ipv6_64_share_a_budget() {
        let limits = limits(rate(1, 1), rate(1, 1));
        limits
            .check(Endpoint::ApplyCode, "2001:db8::1".parse().unwrap())
            .unwrap();
        assert!(limits
            .check(Endpoint::ApplyCode, "2001:db8::ffff".parse().unwrap())
            .is_err());
    }
}
