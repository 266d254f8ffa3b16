//! The query AcWing (or anyone) sends to either receive_code: parsed as the
//! handlers parse it, then every field run through what touches it before
//! the state is checked. Nothing may panic; what reaches a log is bounded.
#![no_main]

use backend::acwing::{loggable, sanitise_errcode};
use backend::routes::parse_callback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The query string arrives as bytes; actix hands handlers a &str of
    // the raw (still percent-encoded) query.
    let query = String::from_utf8_lossy(data);
    let callback = parse_callback(&query);
    // Redacted means the Debug output does not depend on the code (or the
    // state) at all: swapping them for other values changes nothing. (A
    // substring test would flag a code that happens to spell part of the
    // struct's own formatting.)
    let shown = format!("{callback:?}");
    let mut swapped = parse_callback(&query);
    swapped.code = swapped.code.map(|_| "another code".to_owned());
    swapped.state = swapped.state.map(|_| "another state".to_owned());
    assert_eq!(shown, format!("{swapped:?}"), "Debug must redact the code");
    if let Some(errcode) = callback.errcode.as_deref() {
        let clean = sanitise_errcode(errcode);
        assert!(clean.len() <= 10, "{clean}");
    }
    if let Some(errmsg) = callback.errmsg.as_deref() {
        let clean = loggable(errmsg, 100);
        assert!(clean.chars().count() <= 100);
        assert!(!clean.contains(['<', '>', '\n', '"']));
    }
});
