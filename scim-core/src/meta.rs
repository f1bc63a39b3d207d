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
use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// Formats an instant as RFC 7643 §2.3.5 dateTime: RFC 3339, UTC, milliseconds.
pub fn format_date_time(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `now` without its sub-millisecond part (RFC 7643 §3.1 instants are kept to the
/// millisecond, so they survive a round trip through any database unchanged).
pub fn truncate_to_millis(now: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = now.nanosecond();
    now.with_nanosecond(nanos - nanos % 1_000_000)
        .unwrap_or(now)
}

/// The absolute (or, with an empty `base_url`, relative) location of a resource
/// (RFC 7643 §3.1 `meta.location`, RFC 7644 §3.1): `base_url` + endpoint + `/` + `id`.
pub fn location(base_url: &str, view: &ResourceTypeView, id: &str) -> String {
    let endpoint = view.resource_type.endpoint.trim_matches('/');
    format!("{}/{endpoint}/{id}", base_url.trim_end_matches('/'))
}

#[cfg(test)]
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
    }
}
