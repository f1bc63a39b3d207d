//! Fuzz target: a Bulk request body (RFC 7644 §3.7) through the whole engine over a memory
//! store, a fresh one per input (so the store does not grow and a finding reproduces from
//! its input alone): never a panic, never a 5xx, always a JSON answer.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use scim_core::Method;

fuzz_target!(|data: &[u8]| {
    common::check(&common::fresh_engine(), Method::Post, "/Bulk", None, data);
});
