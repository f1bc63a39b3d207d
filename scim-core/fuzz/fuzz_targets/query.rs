//! Fuzz target: query strings of list requests (RFC 7644 §3.4.2: filter, sortBy, sortOrder,
//! startIndex, count, cursor, attributes, excludedAttributes) on `/Users`, `/Groups` and
//! the root, through the whole engine: never a panic, never a 5xx, always a JSON answer.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use scim_core::Method;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    for path in ["/Users", "/Groups", "/"] {
        common::check(common::shared_engine(), Method::Get, path, Some(query), b"");
    }
});
