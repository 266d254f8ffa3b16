//! Free TCP ports on loopback.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago: the OS picks it for
/// a listener that is closed at once.
///
/// Another process may take the port before the caller binds it. Where the
/// caller can hand over a listener instead (an in-process server), binding
/// `127.0.0.1:0` and keeping the listener has no such window; this is for
/// ports a child process or a server's command line must be told.
///
/// # Panics
///
/// If no listener can be opened on loopback at all.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("no free TCP port on 127.0.0.1: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }
}
