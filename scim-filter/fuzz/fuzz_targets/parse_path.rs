//! Fuzz target: `parse_path` never panics, and whatever it accepts prints (Display) in a
//! form that parses back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter::parse_path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        match parse_path(&printed) {
            Ok(again) => {
                assert_eq!(again, path, "{text:?} printed as {printed:?}");
                assert_eq!(again.to_string(), printed, "Display is not canonical");
            }
            Err(e) => panic!("{text:?} printed as {printed:?}, which fails: {e}"),
        }
    }
});
