//! Cursors for cursor-based paging (RFC 9865): opaque strings the engine hands out as
//! `nextCursor` and reads back from `cursor`.
//!
//! A cursor holds a keyset [`Position`] (the last resource of the page: its sort value and
//! `id`), so a page never depends on an offset and every resource that exists throughout a
//! walk is visited exactly once, however many others are created or deleted between pages.
//! It is bound to its query: a digest of the tenant, the resource type, the filter and the
//! sort is part of it, and a cursor presented with another query is refused with 400
//! `invalidCursor` (as is anything that is not a cursor). Stores never see cursors, only
//! [`Position`]s ([`Page::After`](super::Page::After)).

use super::query::{Position, ResolvedFilter, ResolvedSort, SortValue};
use crate::error::ScimError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Format tag of the cursors this version writes.
const FORMAT: u8 = 1;
/// Bytes of the query digest in a cursor.
const BINDING: usize = 8;

/// What a cursor is bound to: one query (RFC 9865 §2).
#[derive(Debug, Clone, Copy)]
pub struct CursorScope<'a> {
    /// The tenant (RFC 7644 §6).
    pub tenant: &'a str,
    /// The resource type's name.
    pub resource_type: &'a str,
    /// The whole filter the query applies (engine conditions included).
    pub filter: Option<&'a ResolvedFilter>,
    /// The sort.
    pub sort: Option<&'a ResolvedSort>,
}

impl CursorScope<'_> {
    fn digest(&self) -> [u8; BINDING] {
        let mut hasher = Sha256::new();
        for part in [self.tenant, self.resource_type] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let filter = self
            .filter
            .map(|f| f.filter().to_string())
            .unwrap_or_default();
        hasher.update((filter.len() as u64).to_be_bytes());
        hasher.update(filter.as_bytes());
        if let Some(sort) = self.sort {
            hasher.update(sort.path().to_string().as_bytes());
            hasher.update([b' ']);
            hasher.update(sort.order().as_str().as_bytes());
        }
        let digest = hasher.finalize();
        let mut out = [0; BINDING];
        out.copy_from_slice(&digest[..BINDING]);
        out
    }

    /// The cursor for the page after `position` (RFC 9865 `nextCursor`).
    pub fn encode(&self, position: &Position) -> String {
        let body = match &position.sort_value {
            Some(value) => serde_json::json!([position.id, value.to_json()]),
            None => serde_json::json!([position.id]),
        };
        let mut bytes = Vec::with_capacity(64);
        bytes.push(FORMAT);
        bytes.extend_from_slice(&self.digest());
        bytes.extend_from_slice(body.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position a cursor of this query stands for.
    ///
    /// # Errors
    ///
    /// 400 `invalidCursor` (RFC 9865) when `cursor` is not a cursor this service provider
    /// issued, or was issued for another query.
    ///
    /// ```
    /// use scim_core::store::{CursorScope, Position};
    /// let scope = CursorScope { tenant: "acme", resource_type: "User", filter: None, sort: None };
    /// let cursor = scope.encode(&Position::new("2819c223", None));
    /// assert_eq!(scope.decode(&cursor)?, Position::new("2819c223", None));
    /// let other = CursorScope { tenant: "other", ..scope };
    /// assert_eq!(other.decode(&cursor).unwrap_err().status(), 400);
    /// assert!(scope.decode("not-a-cursor").is_err());
    /// # Ok::<(), scim_core::ScimError>(())
    /// ```
    pub fn decode(&self, cursor: &str) -> Result<Position, ScimError> {
        let invalid = || {
            ScimError::InvalidCursor(format!(
                "the cursor `{}` was not issued by this service provider; start again \
                 without a cursor (RFC 9865)",
                cursor.chars().take(64).collect::<String>()
            ))
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| invalid())?;
        let (format, rest) = bytes.split_first().ok_or_else(invalid)?;
        if *format != FORMAT || rest.len() < BINDING {
            return Err(invalid());
        }
        let (binding, body) = rest.split_at(BINDING);
        if binding != self.digest() {
            return Err(ScimError::InvalidCursor(
                "the cursor belongs to another query (different filter, sortBy, sortOrder or \
                 resource type); start again without a cursor (RFC 9865)"
                    .into(),
            ));
        }
        let body: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
        match body.as_array().map(Vec::as_slice) {
            Some([Value::String(id)]) => Ok(Position::new(id.clone(), None)),
            Some([Value::String(id), value]) => {
                let value = SortValue::from_json(value).ok_or_else(invalid)?;
                Ok(Position::new(id.clone(), Some(value)))
            }
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_with_sort_values() {
        let scope = CursorScope {
            tenant: "t",
            resource_type: "User",
            filter: None,
            sort: None,
        };
        for value in [
            None,
            Some(SortValue::String("ünïcode \"quoted\"".into())),
            Some(SortValue::Number(-1.5)),
            Some(SortValue::Boolean(true)),
        ] {
            let position = Position::new("id-1", value);
            assert_eq!(scope.decode(&scope.encode(&position)).ok(), Some(position));
        }
        for bad in ["", "AA", "%%%", &URL_SAFE_NO_PAD.encode([1u8; 12])] {
            assert!(scope.decode(bad).is_err(), "{bad}");
        }
    }
}
