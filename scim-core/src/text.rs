//! Byte-level helpers for the ASCII delimiters of request lines and headers (RFC 3986 query
//! and path delimiters, RFC 9110 whitespace). `str`'s own `split_once` and `trim_matches`
//! decode characters one at a time; these look at bytes, with `memchr` where a delimiter
//! is searched. Every delimiter is ASCII, so a cut always falls on a character boundary.

/// `s` split around the first `delimiter` (an ASCII byte), as [`str::split_once`].
pub(crate) fn split_once_byte(s: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = memchr::memchr(delimiter, s.as_bytes())?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// `s` without the leading and trailing bytes `trimmed` accepts (ASCII bytes only), as
/// [`str::trim_matches`] with the same characters.
pub(crate) fn trim_bytes(s: &str, trimmed: impl Fn(u8) -> bool) -> &str {
    let bytes = s.as_bytes();
    let Some(start) = bytes.iter().position(|&b| !trimmed(b)) else {
        return "";
    };
    let end = bytes
        .iter()
        .rposition(|&b| !trimmed(b))
        .map_or(start, |last| last + 1);
    s.get(start..end).unwrap_or_default()
}

/// `s` without leading and trailing spaces and tabs (RFC 9110 §5.6.3 `OWS`, RFC 7644
/// §3.4.2.2 `SP`).
pub(crate) fn trim_blanks(s: &str) -> &str {
    trim_bytes(s, |b| b == b' ' || b == b'\t')
}

/// `s` without leading and trailing `/`.
pub(crate) fn trim_slashes(s: &str) -> &str {
    trim_bytes(s, |b| b == b'/')
}

/// `s` without leading `/`.
pub(crate) fn trim_start_slashes(s: &str) -> &str {
    let start = s.bytes().position(|b| b != b'/').unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

/// `s` without trailing `/`.
pub(crate) fn trim_end_slashes(s: &str) -> &str {
    let end = s
        .bytes()
        .rposition(|b| b != b'/')
        .map_or(0, |last| last + 1);
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_helpers_match_str_methods() {
        for s in [
            "",
            "/",
            "//",
            "a",
            "/a/",
            " \ta b\t ",
            "é/",
            "/é/ü/",
            "&=",
            "a=b=c",
            "x&y",
        ] {
            assert_eq!(trim_blanks(s), s.trim_matches([' ', '\t']), "{s:?}");
            assert_eq!(trim_slashes(s), s.trim_matches('/'), "{s:?}");
            assert_eq!(trim_end_slashes(s), s.trim_end_matches('/'), "{s:?}");
            assert_eq!(trim_start_slashes(s), s.trim_start_matches('/'), "{s:?}");
            for delimiter in [b'=', b'&', b'/', b' '] {
                assert_eq!(
                    split_once_byte(s, delimiter),
                    s.split_once(char::from(delimiter)),
                    "{s:?} {delimiter}"
                );
            }
        }
    }
}
