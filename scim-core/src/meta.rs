//! The `meta` attribute (RFC 7643 §3.1) and resource versions (RFC 7644 §3.14).
//!
//! Semantics chosen here:
//!
//! * `meta.version` is a weak entity tag `W/"<hex>"` (RFC 7232 §2.3): the first 128 bits
//!   of a SHA-256 over a canonical serialization of the resource **excluding `meta`**
//!   (object keys sorted, numbers and strings as serde_json writes them). It therefore
//!   changes on every effective modification and stays the same on a no-op, independent of
//!   time and of serde_json's `preserve_order` feature.
//! * `meta.created` and `meta.lastModified` are RFC 3339 UTC instants with millisecond
//!   precision, e.g. `2024-05-01T12:00:00.000Z`.
//! * [`stamp_modified`] keeps `created`, `resourceType` and `location` from the previous
//!   version, and keeps `lastModified` too when the version did not change.
//! * `meta.location` is `base_url` + the resource type's endpoint + `/` + `id`
//!   (RFC 7644 §3.1); with an empty `base_url` it is relative.

use crate::error::{ScimError, ScimResult};
use crate::resource::Resource;
use crate::schema::ResourceTypeView;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The weak ETag of a resource (RFC 7644 §3.14, RFC 7232 §2.3): `W/"<32 hex digits>"`, a
/// content hash of everything but `meta`. See the [module docs](self).
pub fn etag(resource: &Resource) -> String {
    etag_of_map(resource.attributes())
}

/// [`etag`] for a raw attribute map.
pub fn etag_of_map(attrs: &Map<String, Value>) -> String {
    // The canonical form is written to a buffer and hashed at once (one `update` instead
    // of several per value).
    let mut canonical = Vec::with_capacity(1024);
    write_object(&mut canonical, attrs, true);
    let digest = Sha256::digest(&canonical);
    let mut out = String::with_capacity(36);
    out.push_str("W/\"");
    for byte in digest.iter().take(16) {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out.push('"');
    out
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

fn write_object(out: &mut Vec<u8>, obj: &Map<String, Value>, skip_meta: bool) {
    out.push(b'{');
    let member = |out: &mut Vec<u8>, key: &str, value: &Value| {
        write_string(out, key);
        out.push(b':');
        write_value(out, value);
        out.push(b',');
    };
    let sorted = obj.keys().zip(obj.keys().skip(1)).all(|(a, b)| a < b);
    if sorted {
        for (key, value) in obj {
            if !(skip_meta && key == "meta") {
                member(out, key, value);
            }
        }
    } else {
        let mut keys: Vec<&String> = obj
            .keys()
            .filter(|k| !(skip_meta && k.as_str() == "meta"))
            .collect();
        keys.sort();
        for key in keys {
            if let Some(value) = obj.get(key) {
                member(out, key, value);
            }
        }
    }
    out.push(b'}');
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(b'n'),
        Value::Bool(true) => out.push(b't'),
        Value::Bool(false) => out.push(b'f'),
        Value::Number(n) => {
            out.push(b'#');
            write_string(out, &n.to_string());
        }
        Value::String(s) => {
            out.push(b's');
            write_string(out, s);
        }
        Value::Array(items) => {
            out.push(b'[');
            for item in items {
                write_value(out, item);
                out.push(b',');
            }
            out.push(b']');
        }
        Value::Object(obj) => write_object(out, obj, false),
    }
}

/// Formats an instant as RFC 7643 §2.3.5 dateTime: RFC 3339, UTC, milliseconds.
pub fn format_date_time(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The absolute (or, with an empty `base_url`, relative) location of a resource
/// (RFC 7643 §3.1 `meta.location`, RFC 7644 §3.1): `base_url` + endpoint + `/` + `id`.
pub fn location(base_url: &str, view: &ResourceTypeView, id: &str) -> String {
    let endpoint = view.resource_type.endpoint.trim_matches('/');
    format!("{}/{endpoint}/{id}", base_url.trim_end_matches('/'))
}

/// Sets `meta` on a newly created resource (RFC 7643 §3.1): `resourceType`, `created` and
/// `lastModified` (both `now`), `location` and `version`.
///
/// # Errors
///
/// `Internal` when the resource has no `id` yet (assign it first).
pub fn stamp_created(
    resource: &mut Resource,
    view: &ResourceTypeView,
    base_url: &str,
    now: DateTime<Utc>,
) -> ScimResult<()> {
    let id = resource
        .id()
        .ok_or_else(|| ScimError::Internal("cannot stamp meta on a resource without id".into()))?
        .to_owned();
    let now = format_date_time(now);
    let mut meta = Map::new();
    meta.insert(
        "resourceType".into(),
        Value::String(view.resource_type.name.clone()),
    );
    meta.insert("created".into(), Value::String(now.clone()));
    meta.insert("lastModified".into(), Value::String(now));
    meta.insert(
        "location".into(),
        Value::String(location(base_url, view, &id)),
    );
    meta.insert("version".into(), Value::String(etag(resource)));
    resource
        .attributes_mut()
        .insert("meta".into(), Value::Object(meta));
    Ok(())
}

/// Sets `meta` on a modified resource (RFC 7643 §3.1) from the `previous` version's meta:
/// `created`, `resourceType` and `location` are kept; `version` is recomputed; and
/// `lastModified` becomes `now` only if the version changed (a no-op keeps it). Returns
/// whether the resource changed.
pub fn stamp_modified(resource: &mut Resource, previous: &Resource, now: DateTime<Utc>) -> bool {
    let version = etag(resource);
    let old_meta = previous
        .get("meta")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let changed = etag(previous) != version;
    let mut meta = old_meta;
    meta.insert("version".into(), Value::String(version));
    if changed || !meta.contains_key("lastModified") {
        meta.insert("lastModified".into(), Value::String(format_date_time(now)));
    }
    resource
        .attributes_mut()
        .insert("meta".into(), Value::Object(meta));
    changed
}

/// The `version` stored in a resource's `meta`, if any.
pub fn version(resource: &Resource) -> Option<&str> {
    resource.get("meta")?.get("version")?.as_str()
}
