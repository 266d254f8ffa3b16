//! `X-Forwarded-For` values and the trusted-proxy list: the client address
//! must always be the peer or an address from the header, never made up,
//! and an untrusted peer's header is never read.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use backend::client_ip::{limit_key, TrustedProxies};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(2, '\n');
    let proxies_raw = parts.next().unwrap_or("");
    let header = parts.next().unwrap_or("");
    let headers: Vec<&str> = header.split('\n').collect();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let stranger = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    if let Ok(proxies) = TrustedProxies::parse(proxies_raw) {
        let client = proxies.client_ip(peer, headers.iter().copied());
        let _ = limit_key(client);
        if proxies.is_empty() {
            assert_eq!(client, peer);
        }
        // 192.0.2.1 is trusted only if the fuzzer listed a block holding it.
        let direct = proxies.client_ip(stranger, headers.iter().copied());
        if !proxies_raw.contains("192.0.2") && !proxies_raw.contains('/') {
            assert_eq!(direct, stranger);
        }
    }
});
