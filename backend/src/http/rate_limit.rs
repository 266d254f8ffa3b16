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
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::http::header;
use actix_web::HttpRequest;
use governor::DefaultKeyedRateLimiter;

use crate::client_ip::{limit_key, TrustedProxies};
pub use crate::config::ClientRates;
use crate::rate::{keyed, limited};
pub use crate::rate::{Rate, RateLimited};

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

    /// The client's address (see [`crate::client_ip`]). Without a peer
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

#[cfg(test)]
mod tests {

    use super::*;

    fn limits(apply_code: Rate, receive_code: Rate) -> Arc<RateLimits> {
        let other = Rate::of(60, 10);
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
        let limits = limits(Rate::of(60, 3), Rate::of(60, 3));
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
    fn clients_are_forgotten_once_their_bucket_refills() {
        // One request a millisecond: any bucket is full again at once.
        let limits = limits(Rate::of(60_000, 1), Rate::of(60_000, 1));
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
        let limits = limits(Rate::of(1, 1), Rate::of(1, 1));
        limits
            .check(Endpoint::ApplyCode, "2001:db8::1".parse().unwrap())
            .unwrap();
        assert!(limits
            .check(Endpoint::ApplyCode, "2001:db8::ffff".parse().unwrap())
            .is_err());
    }
}
