//! Bytes → a script of session operations (transport events, realistic and raw gateway frames,
//! time, API calls) run against a fresh `NodeSession` with every invariant of the property tests
//! checked after each step. The decoder and the checks are shared with
//! `node-core/tests/session_props.rs`, so a crash here replays there.
#![no_main]

#[path = "../../node-core/tests/session_model/mod.rs"]
mod session_model;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (setup, ops) = session_model::decode(data);
    session_model::run(&setup, &ops);
});
