//! What a store keeps of one resource (RFC 7643 §3): [`StoredResource`], its [`ResourceMeta`]
//! and [`Version`], and Group membership ([`Member`], [`Membership`], [`MembershipChange`]).
//!
//! The engine builds a `StoredResource` for every write and renders every response from
//! the one a store gives back; the store keeps the parts as given. `meta` is split in two
//! owners on purpose:
//!
//! * the store keeps `created`, `lastModified` and the [`Version`] counter (and bumps the
//!   counter itself when it changes a resource on its own: membership changes, the cascade
//!   of a delete);
//! * the engine renders `meta` at output: `resourceType` from the resource type,
//!   `location` from the request's base URL, `version` as the weak ETag `W/"<n>"`.

use super::StoreError;
use crate::schema::ResourceTypeView;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A resource's version (RFC 7644 §3.14): a counter that is 1 when the resource is created
/// and grows by one on every change, membership changes and cascades included.
///
/// It is rendered as the weak entity tag `W/"<n>"` (RFC 9110 §8.8.3) in `meta.version` and
/// the `ETag` header; [`Version::from_etag`] reads such a tag back (weak or strong form), so
/// `If-Match` and `If-None-Match` compare weakly on every path. A counter is cheap,
/// independent of the resource's size, and a database bumps it atomically
/// (`UPDATE … SET version = version + 1 WHERE version = ?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a newly created resource.
    pub const FIRST: Version = Version(1);

    /// The version with this counter value (e.g. read from a database column).
    pub const fn new(counter: u64) -> Self {
        Self(counter)
    }

    /// The counter value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after one more change (RFC 7644 §3.14).
    #[must_use]
    pub const fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }

    /// The weak entity tag `W/"<n>"` (RFC 9110 §8.8.3, RFC 7644 §3.14).
    pub fn etag(self) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(self.0);
        let mut tag = String::with_capacity(digits.len() + 4);
        tag.push_str("W/\"");
        tag.push_str(digits);
        tag.push('"');
        tag
    }

    /// Reads an entity tag produced by [`Version::etag`], weak (`W/"3"`) or strong (`"3"`);
    /// `None` for any other tag (which then matches no version).
    ///
    /// ```
    /// use scim_core::store::Version;
    /// assert_eq!(Version::from_etag(r#"W/"3""#), Some(Version::new(3)));
    /// assert_eq!(Version::from_etag(r#" "3" "#), Some(Version::new(3)));
    /// assert_eq!(Version::from_etag(r#"W/"abc""#), None);
    /// ```
    pub fn from_etag(tag: &str) -> Option<Version> {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let digits = tag.strip_prefix('"')?.strip_suffix('"')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Version)
    }
}

impl std::fmt::Display for Version {
    /// The entity tag, `W/"<n>"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "W/\"{}\"", self.0)
    }
}

/// The parts of `meta` (RFC 7643 §3.1) a store keeps: when the resource was created and last
/// modified, and its [`Version`]. Instants have millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResourceMeta {
    /// `meta.created`.
    pub created: DateTime<Utc>,
    /// `meta.lastModified`.
    pub last_modified: DateTime<Utc>,
    /// `meta.version`.
    pub version: Version,
}

impl ResourceMeta {
    /// Meta with these values (e.g. read from a database row).
    pub fn new(created: DateTime<Utc>, last_modified: DateTime<Utc>, version: Version) -> Self {
        Self {
            created,
            last_modified,
            version,
        }
    }

    /// The meta of a resource created at `now`: [`Version::FIRST`], `lastModified` = `created`.
    pub fn created_at(now: DateTime<Utc>) -> Self {
        let now = crate::meta::truncate_to_millis(now);
        Self::new(now, now, Version::FIRST)
    }

    /// The meta after a change at `now`: same `created`, `lastModified` = `now`, the next
    /// version. Stores use it for the changes they make themselves (membership, cascades).
    #[must_use]
    pub fn changed_at(&self, now: DateTime<Utc>) -> Self {
        Self::new(
            self.created,
            crate::meta::truncate_to_millis(now),
            self.version.next(),
        )
    }
}

/// One member of a Group (RFC 7643 §4.2 `members`): the member's `id` (`value`), its
/// resource `type` (`User` or `Group`) and the `display` name the client gave. The `$ref`
/// is derived from `type` and `value` when the engine renders the Group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Member {
    /// `value`: the member's `id`.
    pub value: String,
    /// `type`: `User` or `Group`, if the client said.
    pub member_type: Option<String>,
    /// `display`, if the client gave one.
    pub display: Option<String>,
}

impl Member {
    /// A member with this `value` (the member's `id`), without `type` or `display`.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            member_type: None,
            display: None,
        }
    }

    /// Sets `type` (`User` or `Group`).
    #[must_use]
    pub fn with_type(mut self, member_type: impl Into<String>) -> Self {
        self.member_type = Some(member_type.into());
        self
    }

    /// Sets `display`.
    #[must_use]
    pub fn with_display(mut self, display: impl Into<String>) -> Self {
        self.display = Some(display.into());
        self
    }

    /// The member as a JSON object (`display`, `type`, `value`), as filters and PATCH see it
    /// (RFC 7643 §4.2; `$ref` is added only when rendering).
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        if let Some(display) = &self.display {
            obj.insert("display".into(), Value::String(display.clone()));
        }
        if let Some(kind) = &self.member_type {
            obj.insert("type".into(), Value::String(kind.clone()));
        }
        obj.insert("value".into(), Value::String(self.value.clone()));
        Value::Object(obj)
    }
}

/// One direct membership, as [`Store::memberships`](super::Store::memberships) reports it:
/// `member` is a member of the Group `group`, whose current `displayName` is `display`.
/// The engine derives a User's read-only `groups` (RFC 7643 §4.1.2) from these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Membership {
    /// The member's `id`.
    pub member: String,
    /// The Group's `id`.
    pub group: String,
    /// The Group's current `displayName`, if it has one.
    pub display: Option<String>,
}

impl Membership {
    /// `member` is a direct member of `group` (whose `displayName` is `display`).
    pub fn new(
        member: impl Into<String>,
        group: impl Into<String>,
        display: Option<String>,
    ) -> Self {
        Self {
            member: member.into(),
            group: group.into(),
            display,
        }
    }
}

/// A change to a Group's `members` (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove) for
/// [`Store::modify_members`](super::Store::modify_members): removals apply first, then
/// additions; members already present are not added again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MembershipChange {
    /// Members to add.
    pub add: Vec<Member>,
    /// `id`s of members to remove; ids that are not members are ignored.
    pub remove: Vec<String>,
}

impl MembershipChange {
    /// A change that adds `add` and removes the members with the ids in `remove`.
    pub fn new(add: Vec<Member>, remove: Vec<String>) -> Self {
        Self { add, remove }
    }

    /// A change that only adds members (RFC 7644 §3.5.2.1).
    pub fn adding(add: Vec<Member>) -> Self {
        Self::new(add, Vec::new())
    }

    /// A change that only removes the members with these ids (RFC 7644 §3.5.2.2).
    pub fn removing(remove: Vec<String>) -> Self {
        Self::new(Vec::new(), remove)
    }

    /// Whether the change asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// Applies the change to a member list (removals, then additions without duplicates);
    /// answers whether the list changed. Linear in the list's size: the engine's
    /// read-modify-write fallback and small stores use it.
    pub fn apply_to(&self, members: &mut Vec<Member>) -> bool {
        let before = members.len();
        members.retain(|m| !self.remove.contains(&m.value));
        let mut changed = members.len() != before;
        for add in &self.add {
            if !members.iter().any(|m| m.value == add.value) {
                members.push(add.clone());
                changed = true;
            }
        }
        changed
    }
}

/// What a successful [`Store::replace`](super::Store::replace) read along with the write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replaced {
    /// The derived `groups` of the resource (RFC 7643 §4.1.2) as of the write, when the
    /// store read them in the same statement; `None` when it did not (the engine then keeps
    /// the groups of the record it read, or asks [`Store::memberships`]).
    ///
    /// [`Store::memberships`]: super::Store::memberships
    pub groups: Option<Vec<Membership>>,
}

impl Replaced {
    /// A replace that read nothing along with the write.
    pub fn new() -> Self {
        Self::default()
    }

    /// A replace that read the resource's current `groups` with the write.
    #[must_use]
    pub fn with_groups(groups: Vec<Membership>) -> Self {
        Self {
            groups: Some(groups),
        }
    }
}

/// What [`Store::modify_members`](super::Store::modify_members) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MembershipOutcome {
    /// Whether the member list changed (a no-op keeps the meta).
    pub changed: bool,
    /// The Group's meta after the change.
    pub meta: ResourceMeta,
}

impl MembershipOutcome {
    /// An outcome.
    pub fn new(changed: bool, meta: ResourceMeta) -> Self {
        Self { changed, meta }
    }
}

/// The attributes of a stored resource: JSON text, a parsed object, or both.
#[derive(Debug, Clone)]
enum Attributes {
    /// Compact JSON text of an object.
    Text(Arc<str>),
    /// A parsed object.
    Map(Arc<Map<String, Value>>),
    /// Both, describing the same object (what the engine hands to stores).
    Both(Arc<str>, Arc<Map<String, Value>>),
}

/// One resource as a store keeps it (RFC 7643 §3): its `id`, the [`ResourceMeta`] the store
/// owns, its attributes as a JSON object (everything the client can see and set, in schema
/// case, extension attributes under their URN key, `schemas` included) and, for Groups, its
/// [`Member`]s in insertion order.
///
/// Not part of the attributes: `id` and `meta` (separate), Group `members` (separate, so a
/// store can keep them as a table) and a User's `groups` (derived by the engine from
/// [`Store::memberships`](super::Store::memberships)).
///
/// The attributes are JSON text, a parsed map, or both: a store that keeps text (a `TEXT`
/// column, memory) hands it back with [`StoredResource::from_text`] and the engine writes
/// responses from it without parsing; a store that decodes JSON (`jsonb`) or builds the
/// object from its own columns uses [`StoredResource::from_map`].
#[derive(Debug, Clone)]
pub struct StoredResource {
    /// Shared, so a store that keeps its ids as `Arc<str>` hands them out without a copy.
    id: Arc<str>,
    meta: ResourceMeta,
    attributes: Attributes,
    members: Vec<Member>,
    /// The memberships a store read with the record (see [`StoredResource::with_groups`]).
    groups: Option<Vec<Membership>>,
}

impl PartialEq for StoredResource {
    /// Equal when `id`, meta, members and the attributes (as JSON values) are equal
    /// (attached [`groups`](StoredResource::groups) are derived data and not compared).
    fn eq(&self, other: &Self) -> bool {
        if self.id != other.id || self.meta != other.meta || self.members != other.members {
            return false;
        }
        match (&self.attributes, &other.attributes) {
            (Attributes::Text(a) | Attributes::Both(a, _), Attributes::Text(b))
            | (Attributes::Text(a), Attributes::Both(b, _))
                if a == b =>
            {
                true
            }
            _ => match (self.attributes(), other.attributes()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}

impl StoredResource {
    /// A resource from attribute text a store kept verbatim.
    ///
    /// `attributes_json` must be text this crate produced ([`attributes_json`] of a resource
    /// the engine handed to the store), kept byte for byte: the engine copies it into
    /// responses without parsing it. Text of other origin (re-formatted JSON, objects built
    /// from columns) goes through [`from_map`](Self::from_map).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the text is not a JSON object.
    ///
    /// [`attributes_json`]: Self::attributes_json
    pub fn from_text(
        id: impl Into<Arc<str>>,
        meta: ResourceMeta,
        attributes_json: impl Into<Arc<str>>,
        members: Vec<Member>,
    ) -> Result<Self, StoreError> {
        let text: Arc<str> = attributes_json.into();
        if !(text.starts_with('{') && text.ends_with('}')) {
            return Err(StoreError::backend(
                "stored attributes are not a JSON object text",
            ));
        }
        Ok(Self {
            id: id.into(),
            meta,
            attributes: Attributes::Text(text),
            members,
            groups: None,
        })
    }

    /// A resource from a parsed attribute object (e.g. decoded `jsonb`, or built from a
    /// host's own columns). Keys are in schema case (RFC 7643 §2.1).
    pub fn from_map(
        id: impl Into<Arc<str>>,
        meta: ResourceMeta,
        attributes: Map<String, Value>,
        members: Vec<Member>,
    ) -> Self {
        Self {
            id: id.into(),
            meta,
            attributes: Attributes::Map(Arc::new(attributes)),
            members,
            groups: None,
        }
    }

    /// Attaches the resource's derived `groups` (RFC 7643 §4.1.2) as the store read them
    /// with the record, in one statement: exactly what [`Store::memberships`] answers for
    /// this id in the Group type, in any order. The engine then renders them without
    /// asking [`Store::memberships`]. Only for resource types that
    /// [derive groups](crate::schema::ResourceTypeView::derives_groups); a store that
    /// attaches nothing loses nothing but a query.
    ///
    /// [`Store::memberships`]: super::Store::memberships
    #[must_use]
    pub fn with_groups(mut self, groups: Vec<Membership>) -> Self {
        self.groups = Some(groups);
        self
    }

    /// The memberships attached by [`with_groups`](Self::with_groups), if any.
    pub fn groups(&self) -> Option<&[Membership]> {
        self.groups.as_deref()
    }

    /// Keeps the groups `other` carried (the engine's own writes of a User do not change
    /// its memberships).
    pub(crate) fn with_groups_of(mut self, other: &StoredResource) -> Self {
        self.groups.clone_from(&other.groups);
        self
    }

    /// Drops the members (for answers that leave them out).
    pub(crate) fn clear_members(&mut self) {
        self.members = Vec::new();
    }

    /// What the engine hands to stores: the object and its text, serialized once.
    pub(crate) fn from_engine(
        id: &str,
        meta: ResourceMeta,
        attributes: Map<String, Value>,
        members: Vec<Member>,
    ) -> Result<Self, StoreError> {
        let text = serde_json::to_string(&attributes).map_err(StoreError::backend)?;
        Ok(Self {
            id: Arc::from(id),
            meta,
            attributes: Attributes::Both(Arc::from(text), Arc::new(attributes)),
            members,
            groups: None,
        })
    }

    /// The resource's `id` (RFC 7643 §3.1).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The meta the store keeps (RFC 7643 §3.1).
    pub fn meta(&self) -> &ResourceMeta {
        &self.meta
    }

    /// The version (RFC 7644 §3.14).
    pub fn version(&self) -> Version {
        self.meta.version
    }

    /// The Group members (RFC 7643 §4.2), in insertion order; empty for other resources.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The attributes as compact JSON text (keys in sorted order), to store verbatim;
    /// serialized when the resource only has a parsed object.
    pub fn attributes_json(&self) -> Cow<'_, str> {
        match &self.attributes {
            Attributes::Text(text) | Attributes::Both(text, _) => Cow::Borrowed(text),
            Attributes::Map(map) => {
                Cow::Owned(serde_json::to_string(map.as_ref()).unwrap_or_else(|_| "{}".into()))
            }
        }
    }

    /// The attributes as shared text, when the resource has text.
    pub(crate) fn text(&self) -> Option<&Arc<str>> {
        match &self.attributes {
            Attributes::Text(text) | Attributes::Both(text, _) => Some(text),
            Attributes::Map(_) => None,
        }
    }

    /// The attributes as a parsed object when the resource has one.
    pub(crate) fn parsed(&self) -> Option<&Map<String, Value>> {
        match &self.attributes {
            Attributes::Map(map) | Attributes::Both(_, map) => Some(map),
            Attributes::Text(_) => None,
        }
    }

    /// The attributes as a JSON object, parsed when the resource only has text.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when stored text is not a JSON object.
    pub fn attributes(&self) -> Result<Cow<'_, Map<String, Value>>, StoreError> {
        match &self.attributes {
            Attributes::Map(map) | Attributes::Both(_, map) => Ok(Cow::Borrowed(map.as_ref())),
            Attributes::Text(text) => serde_json::from_str(text)
                .map(Cow::Owned)
                .map_err(StoreError::backend),
        }
    }

    /// The same resource with only the text of its attributes (what a store that keeps
    /// text needs; drops a parsed copy).
    #[must_use]
    pub fn into_text_only(self) -> Self {
        let attributes = match self.attributes {
            Attributes::Both(text, _) => Attributes::Text(text),
            Attributes::Map(map) => Attributes::Text(Arc::from(
                serde_json::to_string(map.as_ref()).unwrap_or_else(|_| "{}".into()),
            )),
            text @ Attributes::Text(_) => text,
        };
        Self { attributes, ..self }
    }

    /// The same resource with other members (e.g. after a membership change).
    #[must_use]
    pub fn with_members(mut self, members: Vec<Member>) -> Self {
        self.members = members;
        self
    }

    /// The same resource with other meta (e.g. a bumped version).
    #[must_use]
    pub fn with_meta(mut self, meta: ResourceMeta) -> Self {
        self.meta = meta;
        self
    }

    /// The resource as filters see it (RFC 7644 §3.4.2.2): its attributes plus `id`,
    /// `meta` (`created`, `lastModified`, `resourceType`, `version`; not `location`, which
    /// depends on the request) and, for Groups, `members`. What
    /// [`ResolvedFilter::matches`](super::ResolvedFilter::matches) and
    /// [`ResolvedSort::value_of`](super::ResolvedSort::value_of) expect.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when stored text is not a JSON object.
    pub fn filter_json(&self, view: &ResourceTypeView) -> Result<Value, StoreError> {
        let mut map = self.attributes()?.into_owned();
        map.insert("id".into(), Value::String(self.id.to_string()));
        map.insert("meta".into(), meta_json(view, &self.meta, None));
        if !self.members.is_empty() {
            let members = self.members.iter().map(Member::to_json).collect();
            map.insert("members".into(), Value::Array(members));
        }
        Ok(Value::Object(map))
    }
}

/// `meta` as a JSON object (RFC 7643 §3.1), keys in sorted order; `location` only when given.
pub(crate) fn meta_json(
    view: &ResourceTypeView,
    meta: &ResourceMeta,
    location: Option<&str>,
) -> Value {
    let mut obj = Map::new();
    obj.insert(
        "created".into(),
        Value::String(crate::meta::format_date_time(meta.created)),
    );
    obj.insert(
        "lastModified".into(),
        Value::String(crate::meta::format_date_time(meta.last_modified)),
    );
    if let Some(location) = location {
        obj.insert("location".into(), Value::String(location.to_owned()));
    }
    obj.insert(
        "resourceType".into(),
        Value::String(view.resource_type.name.clone()),
    );
    obj.insert("version".into(), Value::String(meta.version.etag()));
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_through_etags() {
        for n in [1, 2, 41, u64::MAX] {
            let v = Version::new(n);
            assert_eq!(Version::from_etag(&v.etag()), Some(v));
            assert_eq!(v.to_string(), v.etag());
        }
        for bad in [
            "",
            "W/",
            "\"\"",
            "W/\"-1\"",
            "W/\"1a\"",
            "*",
            "W/\"99999999999999999999\"",
        ] {
            assert_eq!(Version::from_etag(bad), None, "{bad}");
        }
        assert_eq!(Version::FIRST.next(), Version::new(2));
        assert_eq!(Version::new(u64::MAX).next(), Version::new(u64::MAX));
    }

    #[test]
    fn membership_changes_remove_then_add_without_duplicates() {
        let mut list = vec![Member::new("a"), Member::new("b")];
        let change = MembershipChange::new(
            vec![Member::new("c"), Member::new("a"), Member::new("c")],
            vec!["a".into(), "x".into()],
        );
        assert!(change.apply_to(&mut list));
        let ids: Vec<_> = list.iter().map(|m| m.value.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        assert!(!MembershipChange::adding(vec![Member::new("b")]).apply_to(&mut list));
    }
}
