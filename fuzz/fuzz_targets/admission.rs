//! Bytes → an admission scenario (peer facts, auth mode, lockouts, state snapshot, then the
//! connect text; optionally re-signed with a test identity so inputs reach pairing and tokens)
//! → the gateway's pure admission core. No panic, and every invariant of
//! `clawlet_gateway::server::admission_core::check_invariants` (scopes never widen without an
//! approval, no token for a credential that failed, foreign origins and proxied peers never
//! local, trusted-proxy identities never admit nodes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    clawlet_gateway::server::admission_core::admission(data);
});
