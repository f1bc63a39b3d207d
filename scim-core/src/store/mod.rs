//! The host's storage: the [`Store`] trait and the reference [`MemoryStore`].
//!
//! The engine validates, patches and projects resources; the store keeps them. A store
//! receives parsed queries (filter, sort, paging) so a database can push them down, and it
//! enforces uniqueness and versions atomically, because only it can.

mod memory;
pub mod suite;

pub use memory::MemoryStore;

use crate::context::RequestContext;
use crate::error::ScimError;
use crate::resource::Resource;
use crate::schema::ResourceTypeView;
use async_trait::async_trait;
use scim_filter::{AttrPath, Filter};
use serde_json::Value;

/// Why a store call failed. The engine maps each variant to an RFC 7644 §3.12 error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The resource does not exist (in this tenant). → 404.
    #[error("resource `{0}` not found")]
    NotFound(String),
    /// A `uniqueness: server` attribute (e.g. `userName`, compared case-insensitively)
    /// is already taken in this tenant. The text names the attribute and value. → 409
    /// `uniqueness`.
    #[error("{0}")]
    Uniqueness(String),
    /// The stored version differs from the expected one (compare-and-swap lost, or
    /// `If-Match` did not match). → retried by the engine, or 412.
    #[error("the resource was modified concurrently (version mismatch)")]
    VersionMismatch,
    /// The store cannot answer this query (e.g. a filter or sort it cannot push down, or
    /// cursor paging it does not support). The text says what. → 400.
    #[error("{0}")]
    Unsupported(String),
    /// The filter parsed but cannot be applied, e.g. `gt` on a boolean attribute
    /// (RFC 7644 §3.4.2.2; a [`scim_filter::EvalError`]). → 400 `invalidFilter`.
    #[error("{0}")]
    InvalidFilter(String),
    /// The cursor of a cursor-paged query (RFC 9865) is malformed, expired or was issued
    /// for another query. The text says what to do. → 400.
    #[error("{0}")]
    InvalidCursor(String),
    /// Too many results to process (RFC 7644 §3.4.2.2 `tooMany`). → 400 `tooMany`.
    #[error("{0}")]
    TooMany(String),
    /// Any other failure of the backing store (connection lost, …). → 500; the detail
    /// sent to the client is generic, the source is logged.
    #[error("store failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A [`StoreError::Backend`] from any error or message.
    pub fn backend(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend(err.into())
    }
}

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(id) => ScimError::NotFound(format!("resource `{id}` not found")),
            StoreError::Uniqueness(detail) => ScimError::Uniqueness(detail),
            StoreError::VersionMismatch => ScimError::PreconditionFailed(
                "the resource changed since the version given in If-Match; fetch it again".into(),
            ),
            StoreError::Unsupported(detail) => ScimError::BadRequest(detail),
            StoreError::InvalidFilter(detail) => ScimError::InvalidFilter(detail),
            StoreError::InvalidCursor(detail) => ScimError::BadRequest(detail),
            StoreError::TooMany(detail) => ScimError::TooMany(detail),
            StoreError::Backend(_) => ScimError::Internal("the store failed; try again".into()),
        }
    }
}

/// Sort direction (RFC 7644 §3.4.2.3 `sortOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

/// `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sort {
    /// The attribute to sort by (may be URN-qualified or a sub-attribute).
    pub by: AttrPath,
    /// The direction.
    pub order: SortOrder,
}

impl Sort {
    /// A sort by `by` in `order`.
    pub fn new(by: AttrPath, order: SortOrder) -> Self {
        Self { by, order }
    }
}

/// Which page of results to return.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Page {
    /// Index-based paging (RFC 7644 §3.4.2.4): `start_index` is 1-based; `count` is already
    /// capped at the service provider's `maxResults`; `count == 0` asks for
    /// `totalResults` only.
    Index {
        /// 1-based index of the first result.
        start_index: usize,
        /// Maximum number of resources to return.
        count: usize,
    },
    /// Cursor-based paging (RFC 9865): `cursor` is `None` for the first page, else the
    /// `nextCursor` of a previous page.
    Cursor {
        /// The opaque cursor from a previous page, if any.
        cursor: Option<String>,
        /// Maximum number of resources to return.
        count: usize,
    },
}

/// A parsed list/search request (RFC 7644 §3.4.2) for one resource type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Query<'a> {
    /// The resource type; it also answers attribute facts for filter evaluation
    /// (it implements [`scim_filter::AttributeFacts`]).
    pub view: &'a ResourceTypeView,
    /// The filter, if any. Stores must apply it exactly (a store that cannot evaluate a
    /// filter returns [`StoreError::Unsupported`], never unfiltered results).
    pub filter: Option<&'a Filter>,
    /// The sort, if any.
    pub sort: Option<&'a Sort>,
    /// The page.
    pub page: Page,
}

impl<'a> Query<'a> {
    /// A query over `view` with an optional filter and sort, for one page
    /// (RFC 7644 §3.4.2).
    pub fn new(
        view: &'a ResourceTypeView,
        filter: Option<&'a Filter>,
        sort: Option<&'a Sort>,
        page: Page,
    ) -> Self {
        Self {
            view,
            filter,
            sort,
            page,
        }
    }

    /// A query (RFC 7644 §3.4.2) for all resources of `view`, one `page` of them; add a
    /// filter and a sort with [`with_filter`](Self::with_filter) and
    /// [`with_sort`](Self::with_sort).
    pub fn all(view: &'a ResourceTypeView, page: Page) -> Self {
        Self::new(view, None, None, page)
    }

    /// Restricts the query to resources matching `filter` (RFC 7644 §3.4.2.2).
    pub fn with_filter(mut self, filter: &'a Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sorts the results (RFC 7644 §3.4.2.3).
    pub fn with_sort(mut self, sort: &'a Sort) -> Self {
        self.sort = Some(sort);
        self
    }
}

/// One page of query results.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct QueryPage {
    /// The resources of this page, in order.
    pub resources: Vec<Resource>,
    /// The number of resources matching the filter, across all pages.
    pub total_results: usize,
    /// For cursor paging: the cursor of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
}

impl QueryPage {
    /// A page with these resources and total.
    pub fn new(resources: Vec<Resource>, total_results: usize) -> Self {
        Self {
            resources,
            total_results,
            next_cursor: None,
        }
    }
}

/// A resource as JSON text, for the engine's read path (GET, list, search), which writes
/// responses from it without building a [`Resource`] (see [`Store::get_json`]).
///
/// Equality compares `text` and `derived`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StoredJson {
    /// The resource's attributes as a JSON object (e.g. compact text as stored), keys in
    /// schema case, without the values in `derived`. Keys in sorted order give output in
    /// the same order as a serialized [`Resource`].
    pub text: String,
    /// Multi-valued attributes the store keeps outside `text` or derives when reading
    /// (a User's `groups`, a Group's `members`), by key; the engine adds their `$ref`.
    pub derived: Vec<(String, Value)>,
    /// Where `id`, `meta.version` and `meta.location` are in `text`, when the store wrote
    /// the text itself (the reference store): the engine then rewrites `meta.location`
    /// without scanning the text. Checked against the text before use.
    pub(crate) layout: Option<TextLayout>,
}

impl PartialEq for StoredJson {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.derived == other.derived
    }
}

/// Byte ranges (start, end) of string values in a resource's compact JSON text, each a
/// whole JSON string literal (quotes included): the top-level `id` and, in the top-level
/// `meta` object (whose keys are in sorted order), `version` and `location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextLayout {
    pub(crate) id: (u32, u32),
    pub(crate) version: (u32, u32),
    pub(crate) location: (u32, u32),
}

impl TextLayout {
    /// The value at `range` of `text` if it is the string literal of the member `key`
    /// (so a layout that does not belong to `text` is never used).
    fn member<'t>(text: &'t str, range: (u32, u32), key: &str) -> Option<&'t str> {
        let (start, end) = (
            usize::try_from(range.0).ok()?,
            usize::try_from(range.1).ok()?,
        );
        let value = text.get(start..end)?;
        let before = text.get(..start)?.strip_suffix(':')?.strip_suffix('"')?;
        let ok = before.strip_suffix(key)?.ends_with('"')
            && value.len() >= 2
            && value.starts_with('"')
            && value.ends_with('"');
        ok.then_some(value)
    }

    /// The string literal of `id` in `text`.
    pub(crate) fn id<'t>(&self, text: &'t str) -> Option<&'t str> {
        Self::member(text, self.id, "id")
    }

    /// The string literal of `meta.version` in `text`.
    pub(crate) fn version<'t>(&self, text: &'t str) -> Option<&'t str> {
        Self::member(text, self.version, "version")
    }

    /// `text` before and after the string literal of `meta.location`.
    pub(crate) fn around_location<'t>(&self, text: &'t str) -> Option<(&'t str, &'t str)> {
        Self::member(text, self.location, "location")?;
        let (start, end) = (
            usize::try_from(self.location.0).ok()?,
            usize::try_from(self.location.1).ok()?,
        );
        Some((text.get(..start)?, text.get(end..)?))
    }
}

/// The contents of a JSON string literal (with its quotes), unescaped.
pub(crate) fn unquote(literal: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    if crate::projection::plain_json(inner) {
        Some(std::borrow::Cow::Borrowed(inner))
    } else {
        serde_json::from_str::<String>(literal)
            .ok()
            .map(std::borrow::Cow::Owned)
    }
}

impl StoredJson {
    /// The attributes outside the text (derived) — `groups` and `members`.
    const DERIVED: [&'static str; 2] = ["groups", "members"];

    /// From text and derived attributes.
    pub fn new(text: String, derived: Vec<(String, Value)>) -> Self {
        Self {
            text,
            derived,
            layout: None,
        }
    }

    /// From a [`Resource`]: `groups` and `members` become `derived`, the rest is serialized.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if serialization fails.
    pub fn from_resource(resource: Resource) -> Result<Self, StoreError> {
        let mut map = resource.into_map();
        let mut derived = Vec::new();
        for key in Self::DERIVED {
            if let Some(value) = map.remove(key) {
                derived.push((key.to_owned(), value));
            }
        }
        let text = serde_json::to_string(&map).map_err(StoreError::backend)?;
        Ok(Self::new(text, derived))
    }
}

/// One page of [`StoredJson`] query results (see [`Store::query_json`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct JsonPage {
    /// The resources of this page, in order.
    pub resources: Vec<StoredJson>,
    /// The number of resources matching the filter, across all pages.
    pub total_results: usize,
    /// For cursor paging: the cursor of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
}

impl JsonPage {
    /// A page with these resources and total.
    pub fn new(resources: Vec<StoredJson>, total_results: usize) -> Self {
        Self {
            resources,
            total_results,
            next_cursor: None,
        }
    }
}

/// A change to a Group's `members` that the store applies without rewriting the whole
/// list (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove), so adding one member to a 100 000-member
/// group costs about what it costs on a 1 000-member group.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MembershipChange {
    /// Member values to add: objects with `value` (the member's `id`) and optionally
    /// `display`, `type`, `$ref`, already schema-checked. Members already present are
    /// not duplicated.
    pub add: Vec<Value>,
    /// Member ids to remove; ids that are not members are ignored.
    pub remove: Vec<String>,
}

impl MembershipChange {
    /// A change that adds `add` (member objects with `value`) and removes the members
    /// with the ids in `remove` (RFC 7644 §3.5.2.1, §3.5.2.2).
    pub fn new(add: Vec<Value>, remove: Vec<String>) -> Self {
        Self { add, remove }
    }

    /// A change that only adds members (RFC 7644 §3.5.2.1).
    pub fn adding(add: Vec<Value>) -> Self {
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
}

/// What [`Store::modify_members`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MembershipOutcome {
    /// Whether the member list changed (a no-op must not change the version).
    pub changed: bool,
    /// The group's `meta.version` after the change.
    pub version: String,
}

impl MembershipOutcome {
    /// An outcome.
    pub fn new(changed: bool, version: impl Into<String>) -> Self {
        Self {
            changed,
            version: version.into(),
        }
    }
}

/// The host's resource storage (RFC 7644 §3.3–§3.6), one instance shared by every request.
///
/// Contract:
/// * Every call receives the [`RequestContext`]; resources of different tenants never
///   meet (a get in tenant A never sees tenant B's resources).
/// * The engine hands over fully validated resources with `id` and `meta` (including
///   `meta.version`) set; the store keeps them as given, except as stated below.
/// * Uniqueness (`userName` of Users, compared case-insensitively, RFC 7643 §4.1.1) is
///   enforced atomically by the store: two concurrent creates of `bjensen` and `BJensen`
///   yield one success and one [`StoreError::Uniqueness`].
/// * [`replace`](Store::replace) and [`delete`](Store::delete) are compare-and-swap on
///   `meta.version`: they fail with [`StoreError::VersionMismatch`] if the stored version
///   is not the expected one. The engine retries read-modify-write cycles on mismatch, so
///   concurrent PATCHes without `If-Match` never lose each other's changes.
/// * A User's read-only `groups` attribute (RFC 7643 §4.1.2) is derived from group
///   membership: reads of Users return `groups` with `value`, `display` and `type`
///   (`direct`) of every Group whose `members` include the user; the engine adds `$ref`.
/// * [`modify_members`](Store::modify_members) changes a Group's members in time
///   independent of the group's size.
/// * `meta.version` is opaque to the store's clients; it must change on every effective
///   modification and stay on a no-op.
/// * Queries apply the filter exactly ([`StoreError::InvalidFilter`] for a filter that
///   cannot be applied), sort as RFC 7644 §3.4.2.3 says (or answer
///   [`StoreError::Unsupported`]), and page in a deterministic order; cursor paging
///   (RFC 9865) is optional ([`StoreError::Unsupported`]; a bad cursor is
///   [`StoreError::InvalidCursor`]).
///
/// [`suite::run_all`] checks all of this against any implementation; [`MemoryStore`] is
/// the indexed reference implementation.
///
/// # Example: a complete store
///
/// A small store that keeps every resource in one `Mutex<HashMap>` and answers queries by
/// scanning the tenant. It honours the whole contract — the example runs the
/// [conformance suite](suite) against it — except the cost guarantees: queries are linear
/// and [`modify_members`](Store::modify_members) rewrites the member list, which is fine
/// for an example and for small directories, not for 100 000-member groups.
///
/// ```
/// use async_trait::async_trait;
/// use scim_core::schema::ResourceTypeView;
/// use scim_core::store::{
///     MembershipChange, MembershipOutcome, Page, Query, QueryPage, SortOrder, Store, StoreError,
/// };
/// use scim_core::{RequestContext, Resource};
/// use scim_filter::AttrPath;
/// use serde_json::{Value, json};
/// use std::collections::HashMap;
/// use std::sync::{Mutex, MutexGuard, PoisonError};
///
/// /// (tenant, resource type, id) → resource.
/// type Map = HashMap<(String, String, String), Resource>;
///
/// #[derive(Default)]
/// struct TinyStore {
///     data: Mutex<Map>,
/// }
///
/// impl TinyStore {
///     fn lock(&self) -> MutexGuard<'_, Map> {
///         self.data.lock().unwrap_or_else(PoisonError::into_inner)
///     }
/// }
///
/// fn key(ctx: &RequestContext, view: &ResourceTypeView, id: &str) -> (String, String, String) {
///     (ctx.tenant().to_owned(), view.resource_type.name.clone(), id.to_owned())
/// }
///
/// fn str_attr<'r>(r: &'r Resource, name: &str) -> Option<&'r str> {
///     r.get(name).and_then(Value::as_str)
/// }
///
/// /// `userName` is unique per tenant, case-insensitively (RFC 7643 §4.1.1).
/// fn check_unique(map: &Map, ctx: &RequestContext, r: &Resource) -> Result<(), StoreError> {
///     let Some(name) = str_attr(r, "userName") else { return Ok(()) };
///     let taken = map.iter().any(|((tenant, ty, id), other)| {
///         tenant == ctx.tenant()
///             && ty == "User"
///             && Some(id.as_str()) != r.id()
///             && str_attr(other, "userName").is_some_and(|n| n.to_lowercase() == name.to_lowercase())
///     });
///     match taken {
///         true => Err(StoreError::Uniqueness(format!("userName `{name}` is already taken"))),
///         false => Ok(()),
///     }
/// }
///
/// fn is_member(group: &Resource, id: &str) -> bool {
///     let members = group.get("members").and_then(Value::as_array);
///     members.is_some_and(|m| m.iter().any(|v| v.get("value").and_then(Value::as_str) == Some(id)))
/// }
///
/// /// A resource as clients see it: Users get `groups` derived from membership.
/// fn with_groups(map: &Map, ctx: &RequestContext, mut r: Resource) -> Resource {
///     let Some(id) = r.id().map(str::to_owned) else { return r };
///     let mut groups: Vec<Value> = map
///         .iter()
///         .filter(|((tenant, ty, _), g)| tenant == ctx.tenant() && ty == "Group" && is_member(g, &id))
///         .map(|((_, _, gid), g)| json!({"value": gid, "display": str_attr(g, "displayName"), "type": "direct"}))
///         .collect();
///     groups.sort_by_key(|g| g["value"].as_str().map(str::to_owned));
///     if !groups.is_empty() {
///         r.attributes_mut().insert("groups".into(), Value::Array(groups));
///     }
///     r
/// }
///
/// /// The sort key of RFC 7644 §3.4.2.3: the primary value of a multi-valued attribute,
/// /// else the first value; compared as lower-cased text (enough for this example).
/// fn sort_key(json: &Value, by: &AttrPath) -> Option<String> {
///     let whole = AttrPath { sub_attr: None, ..by.clone() };
///     let primary = whole.values(json).into_iter().find(|v| v.get("primary") == Some(&json!(true)));
///     let value = primary
///         .and_then(|p| p.get(by.sub_attr.as_deref().unwrap_or("value")))
///         .or_else(|| by.values(json).into_iter().next())?;
///     Some(value.as_str().map_or_else(|| value.to_string(), str::to_lowercase))
/// }
///
/// #[async_trait]
/// impl Store for TinyStore {
///     async fn create(&self, ctx: &RequestContext, view: &ResourceTypeView, mut resource: Resource)
///         -> Result<Resource, StoreError> {
///         let mut map = self.lock();
///         let id = resource.id().ok_or_else(|| StoreError::backend("no id"))?.to_owned();
///         if map.contains_key(&key(ctx, view, &id)) {
///             return Err(StoreError::Uniqueness(format!("id `{id}` is already taken")));
///         }
///         check_unique(&map, ctx, &resource)?;
///         resource.attributes_mut().remove("groups"); // derived, never stored
///         map.insert(key(ctx, view, &id), resource.clone());
///         Ok(with_groups(&map, ctx, resource))
///     }
///
///     async fn get(&self, ctx: &RequestContext, view: &ResourceTypeView, id: &str)
///         -> Result<Option<Resource>, StoreError> {
///         let map = self.lock();
///         Ok(map.get(&key(ctx, view, id)).cloned().map(|r| with_groups(&map, ctx, r)))
///     }
///
///     async fn query(&self, ctx: &RequestContext, query: &Query<'_>) -> Result<QueryPage, StoreError> {
///         let map = self.lock();
///         let mut found = Vec::new();
///         for ((tenant, ty, _), r) in map.iter() {
///             if tenant != ctx.tenant() || *ty != query.view.resource_type.name {
///                 continue;
///             }
///             let r = with_groups(&map, ctx, r.clone());
///             if let Some(filter) = query.filter {
///                 let json = r.to_json();
///                 match filter.matches(&json, query.view) {
///                     Ok(true) => {}
///                     Ok(false) => continue,
///                     Err(e) => return Err(StoreError::InvalidFilter(e.message)),
///                 }
///             }
///             found.push(r);
///         }
///         found.sort_by(|a, b| a.id().cmp(&b.id())); // a deterministic default order
///         if let Some(sort) = query.sort {
///             let mut keyed: Vec<_> = found.into_iter().map(|r| (sort_key(&r.to_json(), &sort.by), r)).collect();
///             let descending = sort.order == SortOrder::Descending;
///             keyed.sort_by(|(a, _), (b, _)| match (a, b) {
///                 (Some(a), Some(b)) if descending => b.cmp(a),
///                 (Some(a), Some(b)) => a.cmp(b),
///                 // Missing values sort last when ascending, first when descending.
///                 (a, b) => (a.is_none() != descending).cmp(&(b.is_none() != descending)),
///             });
///             found = keyed.into_iter().map(|(_, r)| r).collect();
///         }
///         let total = found.len();
///         match query.page {
///             Page::Index { start_index, count } => Ok(QueryPage::new(
///                 found.into_iter().skip(start_index.saturating_sub(1)).take(count).collect(),
///                 total,
///             )),
///             _ => Err(StoreError::Unsupported("this store has no cursor paging".into())),
///         }
///     }
///
///     async fn replace(&self, ctx: &RequestContext, view: &ResourceTypeView, mut resource: Resource,
///         expected_version: &str) -> Result<Resource, StoreError> {
///         let mut map = self.lock();
///         let id = resource.id().unwrap_or_default().to_owned();
///         let stored = map.get(&key(ctx, view, &id)).ok_or_else(|| StoreError::NotFound(id.clone()))?;
///         if scim_core::meta::version(stored) != Some(expected_version) {
///             return Err(StoreError::VersionMismatch);
///         }
///         check_unique(&map, ctx, &resource)?;
///         resource.attributes_mut().remove("groups");
///         map.insert(key(ctx, view, &id), resource.clone());
///         Ok(with_groups(&map, ctx, resource))
///     }
///
///     async fn delete(&self, ctx: &RequestContext, view: &ResourceTypeView, id: &str,
///         expected_version: Option<&str>) -> Result<(), StoreError> {
///         let mut map = self.lock();
///         let stored = map.get(&key(ctx, view, id)).ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
///         if expected_version.is_some_and(|v| scim_core::meta::version(stored) != Some(v)) {
///             return Err(StoreError::VersionMismatch);
///         }
///         map.remove(&key(ctx, view, id));
///         // The deleted resource leaves every group of the tenant (a new group version).
///         for ((tenant, ty, _), group) in map.iter_mut() {
///             if tenant == ctx.tenant() && ty == "Group" && is_member(group, id) {
///                 let before = group.clone();
///                 if let Some(Value::Array(members)) = group.attributes_mut().get_mut("members") {
///                     members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
///                 }
///                 scim_core::meta::stamp_modified(group, &before, chrono::Utc::now());
///             }
///         }
///         Ok(())
///     }
///
///     async fn modify_members(&self, ctx: &RequestContext, view: &ResourceTypeView, group_id: &str,
///         change: &MembershipChange, expected_version: Option<&str>)
///         -> Result<MembershipOutcome, StoreError> {
///         let mut map = self.lock();
///         let group = map
///             .get_mut(&key(ctx, view, group_id))
///             .ok_or_else(|| StoreError::NotFound(group_id.to_owned()))?;
///         let before = group.clone();
///         if expected_version.is_some_and(|v| scim_core::meta::version(&before) != Some(v)) {
///             return Err(StoreError::VersionMismatch);
///         }
///         // Rewrites the whole list: O(n), unlike MemoryStore.
///         let id_of = |m: &Value| m.get("value").and_then(Value::as_str).map(str::to_owned);
///         let members = group.attributes_mut().entry("members").or_insert_with(|| json!([]));
///         let now_empty = match members {
///             Value::Array(members) => {
///                 members.retain(|m| !id_of(m).is_some_and(|id| change.remove.contains(&id)));
///                 for add in &change.add {
///                     if !members.iter().any(|m| id_of(m) == id_of(add)) {
///                         members.push(add.clone());
///                     }
///                 }
///                 members.is_empty()
///             }
///             _ => false,
///         };
///         if now_empty {
///             group.attributes_mut().remove("members");
///         }
///         let changed = scim_core::meta::stamp_modified(group, &before, chrono::Utc::now());
///         let version = scim_core::meta::version(group).unwrap_or_default().to_owned();
///         Ok(MembershipOutcome::new(changed, version))
///     }
/// }
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
/// # async fn main() {
/// // The same conformance suite MemoryStore passes.
/// if let Err(failure) = scim_core::store::suite::run_all(TinyStore::default).await {
///     panic!("{failure}");
/// }
/// # }
/// ```
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new resource (RFC 7644 §3.3). Fails with [`StoreError::Uniqueness`] when a
    /// `uniqueness: server` attribute value is taken.
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<Resource, StoreError>;

    /// The resource with this `id`, or `None` (RFC 7644 §3.4.1).
    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// One page of the resources matching `query` (RFC 7644 §3.4.2).
    async fn query(&self, ctx: &RequestContext, query: &Query<'_>)
    -> Result<QueryPage, StoreError>;

    /// [`Store::get`] as JSON text, for the read path (GET). The default converts the
    /// result of `get`; a store that keeps JSON text returns it directly, so reads skip
    /// building and copying a [`Resource`].
    async fn get_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredJson>, StoreError> {
        self.get(ctx, view, id)
            .await?
            .map(StoredJson::from_resource)
            .transpose()
    }

    /// [`Store::query`] as JSON text, for list and search responses. The default converts
    /// the result of `query` (see [`Store::get_json`]).
    async fn query_json(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<JsonPage, StoreError> {
        let page = self.query(ctx, query).await?;
        let resources = page
            .resources
            .into_iter()
            .map(StoredJson::from_resource)
            .collect::<Result<_, _>>()?;
        let mut out = JsonPage::new(resources, page.total_results);
        out.next_cursor = page.next_cursor;
        Ok(out)
    }

    /// Replaces a resource if its stored `meta.version` equals `expected_version`
    /// (RFC 7644 §3.5.1, §3.14). The new resource carries its new `meta.version`.
    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<Resource, StoreError>;

    /// [`Store::create`] returning the stored resource as JSON text, for the engine's
    /// POST, which renders its response from it. The default converts the result of
    /// `create` (see [`Store::get_json`]).
    async fn create_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<StoredJson, StoreError> {
        let stored = self.create(ctx, view, resource).await?;
        StoredJson::from_resource(stored)
    }

    /// [`Store::replace`] returning the stored resource as JSON text, for the engine's
    /// write path (PUT, PATCH), which renders its response from it. The default converts
    /// the result of `replace` (see [`Store::get_json`]).
    async fn replace_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<StoredJson, StoreError> {
        let stored = self.replace(ctx, view, resource, expected_version).await?;
        StoredJson::from_resource(stored)
    }

    /// Deletes a resource (RFC 7644 §3.6), if `expected_version` is `None` or equals the
    /// stored version. Deleting a User also removes it from every Group's `members`.
    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Adds and removes Group members (RFC 7644 §3.5.2) atomically, in time independent of
    /// the group's size, if `expected_version` is `None` or equals the stored version.
    ///
    /// Removals apply before additions (an id in both lists ends up a member); members
    /// already present are not added again. When nothing changed, the version (and
    /// `meta.lastModified`) stay as they were and [`MembershipOutcome::changed`] is
    /// `false`. Fails with [`StoreError::NotFound`] for an unknown group.
    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected_version: Option<&str>,
    ) -> Result<MembershipOutcome, StoreError>;
}
