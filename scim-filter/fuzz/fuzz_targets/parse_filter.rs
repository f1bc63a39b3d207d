//! Fuzz target: `parse_filter` never panics, and whatever it accepts prints (Display) in a
//! form that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter::parse_filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = parse_filter(text) {
        let printed = filter.to_string();
        match parse_filter(&printed) {
            Ok(again) => {
                assert_eq!(again, filter, "{text:?} printed as {printed:?}");
                assert_eq!(again.to_string(), printed, "Display is not canonical");
            }
            Err(e) => panic!("{text:?} printed as {printed:?}, which fails: {e}"),
        }
    }
});
