//! The query AcWing (or anyone) sends to either receive_code: parsed as the
//! handlers parse it. Nothing may panic; Debug shows neither the code, the
//! state nor the errmsg; the errcode a log or metric may show is bounded.
//! (The errmsg reaches a log only as its length.)
#![no_main]

use acwing_oauth::Errcode;
use backend::http::routes::parse_callback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The query string arrives as bytes; actix hands handlers a &str of
    // the raw (still percent-encoded) query.
    let query = String::from_utf8_lossy(data);
    let callback = parse_callback(&query);
    // Redacted means the Debug output does not depend on the code, the
    // state or the errmsg at all: swapping them changes nothing. (A
    // substring test would flag a code that happens to spell part of the
    // struct's own formatting.)
    let shown = format!("{callback:?}");
    let mut swapped = parse_callback(&query);
    swapped.code = swapped.code.map(|_| "another code".to_owned());
    swapped.state = swapped.state.map(|_| "another state".to_owned());
    swapped.errmsg = swapped.errmsg.map(|_| "another errmsg".to_owned());
    assert_eq!(
        shown,
        format!("{swapped:?}"),
        "Debug must redact the code, the state and the errmsg"
    );
    if let Some(errcode) = callback.errcode.as_deref() {
        let clean = Errcode::parse(errcode);
        assert!(clean.as_str().len() <= 10, "{clean}");
    }
});
