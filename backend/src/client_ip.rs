//! Who is asking: the address rate limits and the state store count
//! against.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is
//! believed only as far as a chain of trusted proxies vouches for it: we
//! walk it from the right (the entry our own peer appended) and stop at the
//! first address that is not a trusted proxy. Entries to its left were
//! written by the client itself and may say anything.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// More hops than any real proxy chain; the rest of a header is ignored.
const MAX_HOPS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an IP address or a CIDR block like 10.0.0.0/8")]
pub struct BadCidr(pub String);

/// `ACAPP_TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` we believe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs; a bare address is its own /32 or /128.
    pub fn parse(raw: &str) -> Result<Self, BadCidr> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| BadCidr(s.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies (an IPv4 address written
    /// as IPv6 counts as the IPv4 one).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: `peer` itself unless `peer` is a trusted proxy,
    /// then the rightmost `X-Forwarded-For` entry that is not one.
    /// `forwarded_for` holds the header's values in the order received.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = canonical(peer);
        if self.0.is_empty() || !self.trusts(client) {
            return client;
        }
        let hops = forwarded_for
            .rev()
            .flat_map(|value| value.rsplit(','))
            .take(MAX_HOPS);
        for hop in hops {
            // A malformed entry ends what can be believed; the last
            // trusted hop is then the best we know.
            let Some(ip) = parse_hop(hop.trim()) else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80`, as proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (ip, _port) = rest.split_once(']')?;
        return ip.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (ip, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// What a limit is keyed by. One IPv6 subscriber usually holds a whole /64,
/// so counting single IPv6 addresses would give each of them 2^64 budgets.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The prefix lengths an IPv6 client's login states are counted at, as
/// well as its /64 (see `login::state::StateShares`), narrowest first.
pub const IPV6_STATE_LEVELS: [u8; 2] = [56, 48];

/// Every network the login-state store counts `ip` against, narrowest
/// first: an IPv4 address alone (as a /32); for IPv6 its /64, /56 and /48.
/// The stores derive the same networks without allocating (the in-memory
/// one from its 64-bit /64 key, the Redis scripts from the /64's text).
pub fn state_networks(ip: IpAddr) -> Vec<IpNet> {
    match limit_key(ip) {
        IpAddr::V6(v6) => std::iter::once(64)
            .chain(IPV6_STATE_LEVELS)
            .filter_map(|len| ipnet::Ipv6Net::new(v6, len).ok())
            .map(|net| IpNet::V6(net.trunc()))
            .collect(),
        v4 => vec![IpNet::from(v4)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let got = none.client_ip(ip("203.0.113.9"), ["1.1.1.1"].into_iter());
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client prepended a forged entry; the proxies appended theirs.
        let got = proxies.client_ip(
            ip("127.0.0.1"),
            ["6.6.6.6, 198.51.100.7", "10.1.2.3"].into_iter(),
        );
        assert_eq!(got, ip("198.51.100.7"));
        // An untrusted peer's header is never read.
        let got = proxies.client_ip(ip("198.51.100.8"), ["10.0.0.1"].into_iter());
        assert_eq!(got, ip("198.51.100.8"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        let got = proxies.client_ip(ip("127.0.0.1"), ["1.2.3.4, <script>"].into_iter());
        assert_eq!(got, ip("127.0.0.1"));
        let got = proxies.client_ip(ip("127.0.0.1"), ["[2001:db8::1]:443"].into_iter());
        assert_eq!(got, ip("2001:db8::1"));
        let got = proxies.client_ip(ip("127.0.0.1"), ["192.0.2.1:8080"].into_iter());
        assert_eq!(got, ip("192.0.2.1"));
    }

    #[test]
    fn ipv6_is_limited_per_64_and_mapped_v4_is_v4() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn state_networks_are_the_64_56_and_48_of_ipv6_and_the_address_of_ipv4() {
        let nets: Vec<String> = state_networks(ip("2001:db8:1:2ff:3:4:5:6"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            nets,
            [
                "2001:db8:1:2ff::/64",
                "2001:db8:1:200::/56",
                "2001:db8:1::/48"
            ]
        );
        let nets: Vec<String> = state_networks(ip("::ffff:192.0.2.1"))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["192.0.2.1/32"]);
    }

    #[test]
    fn cidrs_are_checked() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(TrustedProxies::parse(" ").unwrap().is_empty());
    }
}
