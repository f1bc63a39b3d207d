//! The `meta` attribute (RFC 7643 §3.1) and resource versions (RFC 7644 §3.14).
//!
//! Who owns what:
//!
//! * The store keeps `created`, `lastModified` and the version counter
//!   ([`ResourceMeta`](crate::store::ResourceMeta), [`Version`](crate::store::Version));
//!   the engine computes them for every write it makes, the store for the changes it makes
//!   by itself (membership changes, delete cascades).
//! * The engine renders `meta` at output: `resourceType` from the resource type,
//!   `location` from the request's base URL ([`location`]), `version` as the weak entity tag
//!   `W/"<n>"` (also the `ETag` header). Nothing of it is stored in the attributes.
//! * `meta.created` and `meta.lastModified` are RFC 3339 UTC instants with millisecond
//!   precision, e.g. `2024-05-01T12:00:00.000Z` ([`format_date_time`]).
//! * A request that changes nothing writes nothing: the version and `lastModified` stay.

use crate::schema::ResourceTypeView;
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Formats an instant as RFC 7643 §2.3.5 dateTime: RFC 3339, UTC, milliseconds, e.g.
/// `2024-05-01T12:00:00.000Z`.
pub fn format_date_time(now: DateTime<Utc>) -> String {
    let mut out = Vec::with_capacity(24);
    write_date_time(&mut out, now);
    String::from_utf8(out).unwrap_or_else(|_| now.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Appends [`format_date_time`]'s text to `out` (every response writes two per resource,
/// so this skips `fmt`'s machinery).
pub(crate) fn write_date_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    // The calendar date is derived once (each `Datelike` call on a `DateTime` derives it).
    let naive = t.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let year = date.year();
    if !(0..=9999).contains(&year) {
        out.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::Millis, true).as_bytes());
        return;
    }
    // `YYYY-MM-DDTHH:MM:SS.mmmZ`, built on the stack and appended in one copy.
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (y, mo, d) = (year.unsigned_abs(), date.month(), date.day());
    let (h, mi, s) = (time.hour(), time.minute(), time.second());
    let ms = (time.nanosecond() / 1_000_000).min(999);
    let text = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(mo / 10),
        digit(mo),
        b'-',
        digit(d / 10),
        digit(d),
        b'T',
        digit(h / 10),
        digit(h),
        b':',
        digit(mi / 10),
        digit(mi),
        b':',
        digit(s / 10),
        digit(s),
        b'.',
        digit(ms / 100),
        digit(ms / 10),
        digit(ms),
        b'Z',
    ];
    out.extend_from_slice(&text);
}

/// `now` without its sub-millisecond part (RFC 7643 §3.1 instants are kept to the
/// millisecond, so they survive a round trip through any database unchanged).
pub fn truncate_to_millis(now: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = now.nanosecond();
    // On the UTC wall clock: `DateTime::with_nanosecond` goes through local time and back,
    // deriving the calendar date twice (this runs for every request).
    now.naive_utc()
        .with_nanosecond(nanos - nanos % 1_000_000)
        .map_or(now, |t| t.and_utc())
}

/// The absolute (or, with an empty `base_url`, relative) location of a resource
/// (RFC 7643 §3.1 `meta.location`, RFC 7644 §3.1): `base_url` + endpoint + `/` + `id`.
pub fn location(base_url: &str, view: &ResourceTypeView, id: &str) -> String {
    let mut out = String::with_capacity(base_url.len() + id.len() + 16);
    for part in location_parts(base_url, view, id) {
        out.push_str(part);
    }
    out
}

/// The pieces of [`location`], to write without building the string.
pub(crate) fn location_parts<'a>(
    base_url: &'a str,
    view: &'a ResourceTypeView,
    id: &'a str,
) -> [&'a str; 5] {
    [
        crate::text::trim_end_slashes(base_url),
        "/",
        crate::text::trim_slashes(&view.resource_type.endpoint),
        "/",
        id,
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instants_keep_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T12:00:00.123456789Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            format_date_time(truncate_to_millis(t)),
            "2024-05-01T12:00:00.123Z"
        );
        assert_eq!(truncate_to_millis(t).nanosecond(), 123_000_000);
        for text in [
            "0001-01-01T00:00:00.000Z",
            "2026-12-31T23:59:59.999Z",
            "2024-02-29T07:08:09.010Z",
        ] {
            let t = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(format_date_time(t), text);
            assert_eq!(
                format_date_time(t),
                t.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }

    proptest::proptest! {
        /// Any instant from year 0 to 9999: the text is chrono's RFC 3339 with milliseconds,
        /// and truncation agrees with chrono's own `with_nanosecond`.
        #[test]
        fn dates_format_and_truncate_as_chrono_does(
            seconds in -62_167_219_200i64..253_402_300_800i64,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = DateTime::from_timestamp(seconds, nanos).unwrap();
            proptest::prop_assert_eq!(
                format_date_time(t),
                t.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
            let truncated = t.with_nanosecond(nanos - nanos % 1_000_000).unwrap();
            proptest::prop_assert_eq!(truncate_to_millis(t), truncated);
        }
    }
}
