//! The reference in-memory [`Store`] (RFC 7644 §3.3–§3.6).

use super::{
    JsonPage, MembershipChange, MembershipOutcome, Page, Query, QueryPage, Sort, SortOrder, Store,
    StoreError, StoredJson, TextLayout, unquote,
};
use crate::context::RequestContext;
use crate::resource::Resource;
use crate::schema::{AttributeType, GROUP_SCHEMA, ResourceTypeView, USER_SCHEMA, Uniqueness};
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset};
use scim_filter::{AttrPath, AttributeFacts, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A thread-safe, per-tenant, in-memory store: the reference implementation of
/// [`Store`] (RFC 7644 §3.3–§3.6).
///
/// # Layout
///
/// * One [`RwLock`] per tenant (RFC 7644 §6), created on the tenant's first write. A request
///   locks only its own tenant, and only inside synchronous helpers (no lock is held across
///   an `.await`). Reads share the lock; writes of one tenant are serialized, which is what
///   makes uniqueness checks and compare-and-swap atomic.
/// * Resources are kept as compact JSON text (about a quarter of the memory of a parsed
///   `serde_json::Value`, whose every object is a B-tree) and parsed when scanned or read
///   as a [`Resource`]. GET and list responses read the text itself
///   ([`Store::get_json`], [`Store::query_json`], [`Store::create_json`],
///   [`Store::replace_json`]): the engine copies it into the response without parsing it.
///   Each entry records where `id`, `meta.version` and `meta.location` are in its text,
///   so the engine reads the version and rewrites `meta.location` without scanning.
///   A typical IdP-provisioned user costs about 1 KiB including indexes (see the
///   `store` benchmark in the crate README).
/// * Per tenant and resource type: the resources by `id`, an insertion-sequence index
///   (the default, stable order), a case-folded unique index for every single-valued
///   attribute with `uniqueness: server` or `global` (e.g. `userName`, RFC 7643 §4.1.1;
///   `caseExact` attributes are indexed exactly), and an `externalId` index (RFC 7643 §3.1).
/// * Groups (resource types whose core schema is the RFC 7643 §4.2 Group schema) keep their
///   `members` outside the JSON, in an insertion-ordered map keyed by member `value`, with a
///   reverse index `member id → groups`. Adding or removing one member is `O(log n)`; the
///   list is materialized only when a Group is read.
/// * Users (core schema RFC 7643 §4.1) get their read-only `groups` derived on every read
///   from that reverse index: `value`, `display` (the Group's current `displayName`) and
///   `type: "direct"`, sorted by group `id`. A stored `groups` value is discarded.
/// * Deleting any resource removes it from the `members` of every Group of the tenant (each
///   such Group gets a new version); deleting a Group removes it from its members' `groups`.
///
/// # Queries (RFC 7644 §3.4.2)
///
/// * `id eq "…"`, `externalId eq "…"` and `eq` on an indexed unique attribute (such as
///   `userName eq "…"`, case-insensitively) are answered from the indexes, also when the
///   clause is one operand of a top-level `and` chain (the rest is evaluated on the
///   candidates). Every other filter is evaluated with [`Filter::matches`] against the
///   resource as a client sees it (with derived `groups` / materialized `members` only when
///   the filter names them).
/// * Operator/type errors (`active gt true`) are reported as [`StoreError::InvalidFilter`]
///   whether or not any resource would reach them.
/// * `sortBy` follows RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its `primary`
///   value, else its first; strings compare case-insensitively unless `caseExact`, numbers
///   numerically, `dateTime`s as instants; resources without a value sort last when
///   ascending and first when descending; ties keep the default (creation) order.
/// * Index paging without filter or sort walks the order index and copies only the page
///   (`startIndex` far into a large result skips through the index without copying);
///   with a filter or sort every candidate is evaluated, since `totalResults` needs them all.
///   Cursor paging (RFC 9865) without `sortBy` encodes the position of the last resource
///   returned, so a cursor stays valid while other resources are created or deleted: every
///   resource that exists throughout the walk is returned exactly once. With `sortBy` the
///   cursor encodes an offset into the sorted result (resources created or deleted between
///   pages can shift it, as with `startIndex`). A page with `count` 0 has no next cursor;
///   a cursor this store did not issue is [`StoreError::InvalidCursor`].
///
/// # Versions (RFC 7644 §3.14)
///
/// `create` and `replace` keep the `meta.version` the engine computed. A membership change
/// chains the version: `W/"<first 128 bits of SHA-256(previous version ‖ effective change)>"`,
/// so it changes on every effective change without hashing the whole member list, and
/// stays on a no-op. A User's version does not change when its derived `groups` do (the
/// User resource itself was not modified).
///
/// # Example
///
/// Cloning is cheap and shares the data, so one store can be handed to the engine and kept
/// by the host (e.g. for seeding or inspection).
///
/// ```
/// use scim_core::{MemoryStore, Store};
/// use scim_core::store::{Page, Query};
/// use scim_core::schema::SchemaRegistry;
/// use scim_core::{Principal, RequestContext, Resource, Tolerances};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = SchemaRegistry::default();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// let ctx = RequestContext::new(Principal::new("acme", "okta"), "https://example.com/scim/v2");
/// let store = MemoryStore::new();
///
/// let mut user = Resource::from_client(users, json!({"userName": "bjensen"}), &Tolerances::default())?;
/// user.set_id("2819c223");
/// scim_core::meta::stamp_created(&mut user, users, &ctx.base_url, chrono::Utc::now())?;
/// store.create(&ctx, users, user).await?;
///
/// let filter = scim_filter::parse_filter(r#"userName eq "BJensen""#)?;
/// let query = Query::all(users, Page::Index { start_index: 1, count: 10 }).with_filter(&filter);
/// let page = store.query(&ctx, &query).await?;
/// assert_eq!(page.total_results, 1);
/// assert_eq!(page.resources[0].id(), Some("2819c223"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    tenants: Arc<RwLock<HashMap<String, Arc<RwLock<TenantState>>>>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("tenants", &read(&self.tenants).len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store (RFC 7644 §3: no resources in any tenant).
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of resources of `view`'s type in `tenant` (RFC 7644 §3.4.2
    /// `totalResults` of an unfiltered query), without copying any.
    pub fn len(&self, tenant: &str, view: &ResourceTypeView) -> usize {
        self.tenant(tenant).map_or(0, |t| {
            read(&t)
                .types
                .get(&type_key(view))
                .map_or(0, |d| d.by_id.len())
        })
    }

    /// Whether `tenant` has no resources of `view`'s type (RFC 7644 §3.4.2).
    pub fn is_empty(&self, tenant: &str, view: &ResourceTypeView) -> bool {
        self.len(tenant, view) == 0
    }

    fn tenant(&self, tenant: &str) -> Option<Arc<RwLock<TenantState>>> {
        read(&self.tenants).get(tenant).cloned()
    }

    fn tenant_or_create(&self, tenant: &str) -> Arc<RwLock<TenantState>> {
        if let Some(t) = self.tenant(tenant) {
            return t;
        }
        Arc::clone(write(&self.tenants).entry(tenant.to_owned()).or_default())
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Resource types are keyed by name; names are case-insensitive (RFC 7643 §6).
fn type_key(view: &ResourceTypeView) -> String {
    view.resource_type.name.to_ascii_lowercase()
}

/// Case folding as the filter evaluator does it (per `char`, so the index and
/// [`Filter::matches`] agree exactly).
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

#[derive(Default)]
struct TenantState {
    types: HashMap<String, TypeData>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// RFC 7643 §4.1: reads derive `groups`.
    User,
    /// RFC 7643 §4.2: `members` kept outside the JSON.
    Group,
    /// Any other resource type.
    Plain,
}

impl Kind {
    fn of(view: &ResourceTypeView) -> Kind {
        let core = &view.core_schema().id;
        if core.eq_ignore_ascii_case(USER_SCHEMA) {
            Kind::User
        } else if core.eq_ignore_ascii_case(GROUP_SCHEMA) {
            Kind::Group
        } else {
            Kind::Plain
        }
    }

    /// The attribute this kind derives or keeps outside the JSON.
    fn derived_attr(self) -> Option<&'static str> {
        match self {
            Kind::User => Some("groups"),
            Kind::Group => Some("members"),
            Kind::Plain => None,
        }
    }
}

struct Entry {
    seq: u64,
    id: Arc<str>,
    /// The stored object as compact JSON text, without derived `groups` / external
    /// `members` (a parsed `serde_json::Value` takes about four times the memory).
    json: Box<str>,
    /// Where `id`, `meta.version` and `meta.location` are in `json` (see [`TextLayout`]).
    layout: Option<TextLayout>,
    /// For Group kinds: the `displayName`, for the derived `groups` of its members.
    display: Option<Box<str>>,
    members: Option<Box<Members>>,
}

impl Entry {
    fn value(&self) -> Result<Value, StoreError> {
        serde_json::from_str(&self.json).map_err(StoreError::backend)
    }

    /// The stored `meta.version`, read through the layout when there is one.
    fn version_matches(&self, expected: Option<&str>) -> Result<bool, StoreError> {
        let Some(expected) = expected else {
            return Ok(true);
        };
        let quick = self
            .layout
            .and_then(|l| l.version(&self.json))
            .and_then(unquote);
        Ok(match quick {
            Some(version) => version == expected,
            None => stored_version(&self.value()?) == Some(expected),
        })
    }
}

fn to_text(value: &Value) -> Result<Box<str>, StoreError> {
    serde_json::to_string(value)
        .map(String::into_boxed_str)
        .map_err(StoreError::backend)
}

/// [`to_text`] (the same text) plus where `id`, `meta.version` and `meta.location` are in
/// it; `None` for the layout when one of them is missing or not a string, or `meta`'s keys
/// are not in sorted order.
fn to_text_with_layout(value: &Value) -> Result<(Box<str>, Option<TextLayout>), StoreError> {
    let Value::Object(map) = value else {
        return Ok((to_text(value)?, None));
    };
    let offset = |n: usize| u32::try_from(n).ok();
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let (mut id, mut version, mut location) = (None, None, None);
    let mut sorted = true;
    out.push(b'{');
    for (i, (key, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key).map_err(StoreError::backend)?;
        out.push(b':');
        let start = out.len();
        match (key.as_str(), v) {
            ("meta", Value::Object(meta)) => {
                out.push(b'{');
                let mut previous: Option<&str> = None;
                for (j, (k, mv)) in meta.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    sorted &= previous.is_none_or(|p| p < k.as_str());
                    previous = Some(k);
                    serde_json::to_writer(&mut out, k).map_err(StoreError::backend)?;
                    out.push(b':');
                    let vstart = out.len();
                    serde_json::to_writer(&mut out, mv).map_err(StoreError::backend)?;
                    let range = match (offset(vstart), offset(out.len())) {
                        (Some(a), Some(b)) if mv.is_string() => Some((a, b)),
                        _ => None,
                    };
                    match k.as_str() {
                        "version" => version = range,
                        "location" => location = range,
                        _ => {}
                    }
                }
                out.push(b'}');
            }
            _ => {
                serde_json::to_writer(&mut out, v).map_err(StoreError::backend)?;
                if key == "id" && v.is_string() {
                    id = offset(start).zip(offset(out.len()));
                }
            }
        }
    }
    out.push(b'}');
    let text = String::from_utf8(out).map_err(StoreError::backend)?;
    let layout = match (id, version, location) {
        (Some(id), Some(version), Some(location)) if sorted => Some(TextLayout {
            id,
            version,
            location,
        }),
        _ => None,
    };
    Ok((text.into_boxed_str(), layout))
}

/// The top-level member `name` of stored text (under the extension object `ext`, if any),
/// parsed; `Err(())` when the text cannot be split into members.
fn text_member(
    top: &[(&str, &serde_json::value::RawValue)],
    ext: Option<&str>,
    name: &str,
) -> Result<Option<Value>, ()> {
    let find = |members: &[(&str, &serde_json::value::RawValue)]| {
        members
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, raw)| serde_json::from_str::<Value>(raw.get()).map_err(|_| ()))
            .transpose()
    };
    match ext {
        None => find(top),
        Some(uri) => match top.iter().find(|(k, _)| *k == uri) {
            None => Ok(None),
            Some((_, raw)) => match crate::projection::raw_members(raw.get()) {
                Some(members) => find(&members),
                None if raw.get() == "null" => Ok(None),
                None => Err(()),
            },
        },
    }
}

fn display_of(kind: Kind, json: &Value) -> Option<Box<str>> {
    match kind {
        Kind::Group => json.get("displayName")?.as_str().map(Box::from),
        _ => None,
    }
}

/// One unique index (RFC 7643 §2.2 `uniqueness`).
struct UniqueIndex {
    /// The extension URN the attribute lives under, if any.
    ext: Option<String>,
    /// The attribute name in schema case.
    name: String,
    case_exact: bool,
    map: HashMap<String, Arc<str>>,
}

impl UniqueIndex {
    fn label(&self) -> String {
        match &self.ext {
            Some(uri) => format!("{uri}:{}", self.name),
            None => self.name.clone(),
        }
    }

    fn value<'a>(&self, json: &'a Value) -> Option<&'a Value> {
        let holder = match &self.ext {
            Some(uri) => json.get(uri)?,
            None => json,
        };
        holder.get(&self.name).filter(|v| !v.is_null())
    }

    fn key_of(&self, json: &Value) -> Option<String> {
        index_key(self.value(json)?, self.case_exact)
    }
}

fn index_key(value: &Value, case_exact: bool) -> Option<String> {
    match value {
        Value::String(s) if case_exact => Some(s.clone()),
        Value::String(s) => Some(fold(s)),
        Value::Number(_) | Value::Bool(_) => Some(format!("\u{0}{value}")),
        _ => None,
    }
}

struct TypeData {
    kind: Kind,
    next_seq: u64,
    by_id: HashMap<Arc<str>, Entry>,
    order: BTreeMap<u64, Arc<str>>,
    unique: Vec<UniqueIndex>,
    external_case_exact: bool,
    external: HashMap<String, Vec<Arc<str>>>,
    /// For Group kinds: member `value` → ids of the groups it is a member of (sorted).
    member_of: HashMap<String, Vec<Arc<str>>>,
}

impl TypeData {
    fn new(view: &ResourceTypeView) -> Self {
        let mut unique = Vec::new();
        let core = view.core_schema();
        let unique_def = |def: &crate::schema::AttributeDef| {
            def.uniqueness != Uniqueness::None
                && !def.multi_valued
                && def.attr_type != AttributeType::Complex
                && !def.name.eq_ignore_ascii_case("id")
        };
        for def in core.attributes.iter().chain(view.common_attributes()) {
            if unique_def(def) {
                unique.push(UniqueIndex {
                    ext: None,
                    name: def.name.clone(),
                    case_exact: def.case_exact || def.attr_type == AttributeType::Binary,
                    map: HashMap::new(),
                });
            }
        }
        for (ext, _) in view.extensions() {
            for def in &ext.attributes {
                if unique_def(def) {
                    unique.push(UniqueIndex {
                        ext: Some(ext.id.clone()),
                        name: def.name.clone(),
                        case_exact: def.case_exact || def.attr_type == AttributeType::Binary,
                        map: HashMap::new(),
                    });
                }
            }
        }
        let external_case_exact = view
            .common_attributes()
            .iter()
            .find(|d| d.name == "externalId")
            .is_none_or(|d| d.case_exact);
        Self {
            kind: Kind::of(view),
            next_seq: 0,
            by_id: HashMap::new(),
            order: BTreeMap::new(),
            unique,
            external_case_exact,
            external: HashMap::new(),
            member_of: HashMap::new(),
        }
    }

    fn external_key(&self, json: &Value) -> Option<String> {
        let s = json.get("externalId")?.as_str()?;
        Some(if self.external_case_exact {
            s.to_owned()
        } else {
            fold(s)
        })
    }

    /// Fails if a unique value of `json` belongs to another resource than `own_id`.
    fn check_unique(&self, json: &Value, own_id: &str) -> Result<(), StoreError> {
        for idx in &self.unique {
            let Some(key) = idx.key_of(json) else {
                continue;
            };
            if let Some(owner) = idx.map.get(&key) {
                if &**owner != own_id {
                    let shown = match idx.value(json) {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => key,
                    };
                    return Err(StoreError::Uniqueness(format!(
                        "{} `{shown}` is already taken",
                        idx.label()
                    )));
                }
            }
        }
        Ok(())
    }

    fn index(&mut self, id: &Arc<str>, json: &Value) {
        for idx in &mut self.unique {
            if let Some(key) = idx.key_of(json) {
                idx.map.insert(key, Arc::clone(id));
            }
        }
        if let Some(key) = self.external_key(json) {
            self.external.entry(key).or_default().push(Arc::clone(id));
        }
    }

    fn unindex(&mut self, id: &str, json: &Value) {
        let keys: Vec<Option<String>> = self.unique.iter().map(|idx| idx.key_of(json)).collect();
        let external = self.external_key(json);
        self.remove_keys(id, keys, external);
    }

    /// Whether every unique key and the `externalId` key of `json` are already indexed
    /// for `id`: then they are the keys of `id`'s stored version (the indexes hold one
    /// key per resource and index), and a replacement leaves the indexes as they are.
    fn keys_unchanged(&self, id: &str, json: &Value) -> bool {
        self.unique.iter().all(|idx| {
            idx.key_of(json)
                .is_some_and(|key| idx.map.get(&key).is_some_and(|owner| &**owner == id))
        }) && self.external_key(json).is_some_and(|key| {
            self.external
                .get(&key)
                .is_some_and(|ids| ids.iter().any(|i| &**i == id))
        })
    }

    /// [`unindex`](Self::unindex) of stored text, parsing only the indexed members.
    fn unindex_text(&mut self, id: &str, text: &str) -> Result<(), StoreError> {
        let keys = crate::projection::raw_members(text).and_then(|top| {
            let mut keys = Vec::with_capacity(self.unique.len());
            for idx in &self.unique {
                let value = text_member(&top, idx.ext.as_deref(), &idx.name).ok()?;
                keys.push(value.and_then(|v| index_key(&v, idx.case_exact)));
            }
            let external = text_member(&top, None, "externalId").ok()?;
            let external = external.as_ref().and_then(Value::as_str).map(|s| {
                if self.external_case_exact {
                    s.to_owned()
                } else {
                    fold(s)
                }
            });
            Some((keys, external))
        });
        match keys {
            Some((keys, external)) => self.remove_keys(id, keys, external),
            None => {
                let json: Value = serde_json::from_str(text).map_err(StoreError::backend)?;
                self.unindex(id, &json);
            }
        }
        Ok(())
    }

    /// Removes `id`'s unique keys (one per index, in order) and `externalId` key.
    fn remove_keys(&mut self, id: &str, keys: Vec<Option<String>>, external: Option<String>) {
        for (idx, key) in self.unique.iter_mut().zip(keys) {
            if let Some(key) = key {
                if idx.map.get(&key).is_some_and(|owner| &**owner == id) {
                    idx.map.remove(&key);
                }
            }
        }
        if let Some(key) = external {
            if let Some(ids) = self.external.get_mut(&key) {
                ids.retain(|i| &**i != id);
                if ids.is_empty() {
                    self.external.remove(&key);
                }
            }
        }
    }

    fn link_members(&mut self, group_id: &Arc<str>, members: &Members) {
        for member in members.ids() {
            link(&mut self.member_of, member, group_id);
        }
    }

    fn unlink_members(&mut self, group_id: &str, members: &Members) {
        for member in members.ids() {
            unlink(&mut self.member_of, member, group_id);
        }
    }

    /// Answers an `eq` clause from an index, if it is one (see the module docs).
    fn lookup(&self, clause: &Filter, view: &ResourceTypeView) -> Option<Vec<&Entry>> {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(wanted),
        } = clause
        else {
            return None;
        };
        if path.sub_attr.is_some() {
            return None;
        }
        let core_path = path
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(&view.core_schema().id));
        let facts = view.facts(path.uri.as_deref(), &path.name, None);
        let stringy = matches!(
            facts.attr_type,
            Some(AttributeType::String | AttributeType::Reference)
        );
        if !stringy {
            return None;
        }
        let entries = |ids: Option<&[Arc<str>]>| -> Vec<&Entry> {
            let mut out: Vec<&Entry> = ids
                .unwrap_or_default()
                .iter()
                .filter_map(|id| self.by_id.get(id))
                .collect();
            out.sort_by_key(|e| e.seq);
            out
        };
        if core_path && path.name.eq_ignore_ascii_case("id") && facts.case_exact {
            return Some(self.by_id.get(wanted.as_str()).into_iter().collect());
        }
        if core_path
            && path.name.eq_ignore_ascii_case("externalId")
            && facts.case_exact == self.external_case_exact
        {
            let key = if self.external_case_exact {
                Cow::Borrowed(wanted.as_str())
            } else {
                Cow::Owned(fold(wanted))
            };
            return Some(entries(self.external.get(key.as_ref()).map(Vec::as_slice)));
        }
        for idx in &self.unique {
            let place_matches = match (&idx.ext, &path.uri) {
                (None, _) => core_path,
                (Some(ext), Some(uri)) => ext.eq_ignore_ascii_case(uri),
                (Some(_), None) => false,
            };
            if place_matches
                && idx.name.eq_ignore_ascii_case(&path.name)
                && idx.case_exact == facts.case_exact
            {
                let key = if idx.case_exact {
                    wanted.clone()
                } else {
                    fold(wanted)
                };
                let found = idx.map.get(&key).map(std::slice::from_ref);
                return Some(entries(found));
            }
        }
        None
    }
}

fn link(member_of: &mut HashMap<String, Vec<Arc<str>>>, member: &str, group_id: &Arc<str>) {
    let groups = member_of.entry(member.to_owned()).or_default();
    if let Err(at) = groups.binary_search_by(|g| (**g).cmp(group_id)) {
        groups.insert(at, Arc::clone(group_id));
    }
}

fn unlink(member_of: &mut HashMap<String, Vec<Arc<str>>>, member: &str, group_id: &str) {
    if let Some(groups) = member_of.get_mut(member) {
        if let Ok(at) = groups.binary_search_by(|g| (**g).cmp(group_id)) {
            groups.remove(at);
        }
        if groups.is_empty() {
            member_of.remove(member);
        }
    }
}

/// A Group's `members` (RFC 7643 §4.2), in insertion order (each as compact JSON text),
/// keyed by `value`.
#[derive(Default)]
struct Members {
    next: u64,
    seq_of: HashMap<String, u64>,
    order: BTreeMap<u64, Box<str>>,
}

impl Members {
    /// From a client list; later duplicates of a `value` are dropped.
    fn from_list(list: &[Value]) -> Result<Self, StoreError> {
        let mut members = Members::default();
        for value in list {
            match value.get("value").and_then(Value::as_str) {
                Some(id) => {
                    members.insert(id, value)?;
                }
                None => {
                    // No `value`: kept as given, not indexed (cannot be a member of anything).
                    members.order.insert(members.next, to_text(value)?);
                    members.next += 1;
                }
            }
        }
        Ok(members)
    }

    fn ids(&self) -> impl Iterator<Item = &str> {
        self.seq_of.keys().map(String::as_str)
    }

    fn insert(&mut self, id: &str, value: &Value) -> Result<bool, StoreError> {
        if self.seq_of.contains_key(id) {
            return Ok(false);
        }
        let text = to_text(value)?;
        self.seq_of.insert(id.to_owned(), self.next);
        self.order.insert(self.next, text);
        self.next += 1;
        Ok(true)
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.seq_of.remove(id) {
            Some(seq) => {
                self.order.remove(&seq);
                true
            }
            None => false,
        }
    }

    fn to_json(&self) -> Result<Vec<Value>, StoreError> {
        self.order
            .values()
            .map(|text| serde_json::from_str(text).map_err(StoreError::backend))
            .collect()
    }
}

/// Moves derived or external attributes out of a resource about to be stored.
fn split(
    kind: Kind,
    mut map: Map<String, Value>,
) -> Result<(Value, Option<Box<Members>>), StoreError> {
    Ok(match kind {
        Kind::User => {
            map.remove("groups");
            (Value::Object(map), None)
        }
        Kind::Group => {
            let list = match map.remove("members") {
                Some(Value::Array(list)) => list,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            let members = Members::from_list(&list)?;
            (Value::Object(map), Some(Box::new(members)))
        }
        Kind::Plain => (Value::Object(map), None),
    })
}

fn stored_version(json: &Value) -> Option<&str> {
    json.get("meta")?.get("version")?.as_str()
}

fn check_version(json: &Value, expected: Option<&str>) -> Result<(), StoreError> {
    match expected {
        Some(expected) if stored_version(json) != Some(expected) => {
            Err(StoreError::VersionMismatch)
        }
        _ => Ok(()),
    }
}

impl TenantState {
    /// `groups` of a User (RFC 7643 §4.1.2), derived from every Group type's reverse index.
    fn groups_of(&self, member_id: &str) -> Vec<Value> {
        let mut out: Vec<(&str, Value)> = Vec::new();
        for data in self.types.values().filter(|d| d.kind == Kind::Group) {
            let Some(group_ids) = data.member_of.get(member_id) else {
                continue;
            };
            for gid in group_ids {
                let mut item = Map::new();
                item.insert("value".into(), Value::String(gid.to_string()));
                if let Some(display) = data.by_id.get(gid).and_then(|g| g.display.as_deref()) {
                    item.insert("display".into(), Value::String(display.to_owned()));
                }
                item.insert("type".into(), Value::String("direct".into()));
                out.push((gid, Value::Object(item)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(b.0));
        out.into_iter().map(|(_, v)| v).collect()
    }

    /// The resource as a client sees it; derived values are added only when `derived`.
    fn client_json(&self, kind: Kind, entry: &Entry, derived: bool) -> Result<Value, StoreError> {
        let mut json = entry.value()?;
        if !derived {
            return Ok(json);
        }
        let (name, list) = match (kind, &entry.members) {
            (Kind::User, _) => ("groups", self.groups_of(&entry.id)),
            (Kind::Group, Some(members)) => ("members", members.to_json()?),
            _ => return Ok(json),
        };
        if let (Value::Object(map), false) = (&mut json, list.is_empty()) {
            map.insert(name.into(), Value::Array(list));
        }
        Ok(json)
    }

    fn materialize(&self, kind: Kind, entry: &Entry) -> Result<Resource, StoreError> {
        match self.client_json(kind, entry, true)? {
            Value::Object(map) => Ok(Resource::from_map(map)),
            _ => Err(StoreError::backend(
                "a stored resource is not a JSON object",
            )),
        }
    }

    /// The resource as its stored text plus derived values (no parsing).
    fn stored_json(&self, kind: Kind, entry: &Entry) -> Result<StoredJson, StoreError> {
        let derived = match (kind, &entry.members) {
            (Kind::User, _) => Some(("groups", self.groups_of(&entry.id))),
            (Kind::Group, Some(members)) => Some(("members", members.to_json()?)),
            _ => None,
        };
        let derived = match derived {
            Some((name, list)) if !list.is_empty() => vec![(name.to_owned(), Value::Array(list))],
            _ => Vec::new(),
        };
        let mut stored = StoredJson::new(entry.json.to_string(), derived);
        stored.layout = entry.layout;
        Ok(stored)
    }

    fn resource_json(&self, key: &str, id: &str) -> Result<Option<StoredJson>, StoreError> {
        let Some(data) = self.types.get(key) else {
            return Ok(None);
        };
        match data.by_id.get(id) {
            Some(entry) => self.stored_json(data.kind, entry).map(Some),
            None => Ok(None),
        }
    }

    /// A just-written resource as a client sees it, from the object that was stored
    /// (without re-parsing the stored text).
    fn written(
        &self,
        kind: Kind,
        id: &str,
        json: Value,
        members: Option<&Members>,
    ) -> Result<Resource, StoreError> {
        let Value::Object(mut map) = json else {
            return Err(StoreError::backend(
                "a stored resource is not a JSON object",
            ));
        };
        let (name, list) = match (kind, members) {
            (Kind::User, _) => ("groups", self.groups_of(id)),
            (Kind::Group, Some(members)) => ("members", members.to_json()?),
            _ => return Ok(Resource::from_map(map)),
        };
        if !list.is_empty() {
            map.insert(name.into(), Value::Array(list));
        }
        Ok(Resource::from_map(map))
    }

    fn resource(&self, key: &str, id: &str) -> Result<Option<Resource>, StoreError> {
        let Some(data) = self.types.get(key) else {
            return Ok(None);
        };
        match data.by_id.get(id) {
            Some(entry) => self.materialize(data.kind, entry).map(Some),
            None => Ok(None),
        }
    }

    fn create(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<Resource, StoreError> {
        let (kind, key, id, json) = self.create_entry(view, resource)?;
        let members = self.members_of(&key, &id);
        self.written(kind, &id, json, members)
    }

    /// [`create`](Self::create), answering the stored text (see [`Store::get_json`]).
    fn create_json(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<StoredJson, StoreError> {
        let (kind, key, id, _) = self.create_entry(view, resource)?;
        let entry = self
            .types
            .get(&key)
            .and_then(|d| d.by_id.get(&id))
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.stored_json(kind, entry)
    }

    /// Stores a new entry; answers its kind, type key, id and the stored object.
    fn create_entry(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<(Kind, String, Arc<str>, Value), StoreError> {
        let key = type_key(view);
        let data = self
            .types
            .entry(key.clone())
            .or_insert_with(|| TypeData::new(view));
        let map = resource.into_map();
        let id: Arc<str> = map
            .get("id")
            .and_then(Value::as_str)
            .map(Arc::from)
            .ok_or_else(|| StoreError::backend("cannot store a resource without `id`"))?;
        if data.by_id.contains_key(&id) {
            return Err(StoreError::Uniqueness(format!(
                "id `{id}` is already taken"
            )));
        }
        let (json, members) = split(data.kind, map)?;
        data.check_unique(&json, &id)?;
        let (text, layout) = to_text_with_layout(&json)?;
        data.index(&id, &json);
        if let Some(members) = &members {
            data.link_members(&id, members);
        }
        let seq = data.next_seq;
        data.next_seq += 1;
        data.order.insert(seq, Arc::clone(&id));
        let kind = data.kind;
        let entry = Entry {
            seq,
            id: Arc::clone(&id),
            json: text,
            layout,
            display: display_of(kind, &json),
            members,
        };
        data.by_id.insert(Arc::clone(&id), entry);
        Ok((kind, key, id, json))
    }

    fn members_of(&self, key: &str, id: &str) -> Option<&Members> {
        self.types.get(key)?.by_id.get(id)?.members.as_deref()
    }

    fn replace(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<Resource, StoreError> {
        let (kind, key, id, json) = self.replace_entry(view, resource, expected_version)?;
        let members = self.members_of(&key, &id);
        self.written(kind, &id, json, members)
    }

    /// [`replace`](Self::replace), answering the stored text (see [`Store::get_json`]).
    fn replace_json(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<StoredJson, StoreError> {
        let (kind, key, id, _) = self.replace_entry(view, resource, expected_version)?;
        let entry = self
            .types
            .get(&key)
            .and_then(|d| d.by_id.get(&id))
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.stored_json(kind, entry)
    }

    /// Replaces the entry; answers its kind, type key, id and the stored object.
    fn replace_entry(
        &mut self,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<(Kind, String, Arc<str>, Value), StoreError> {
        let key = type_key(view);
        let id = resource.id().unwrap_or_default().to_owned();
        let data = self
            .types
            .get_mut(&key)
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let old = data
            .by_id
            .get(id.as_str())
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        if !old.version_matches(Some(expected_version))? {
            return Err(StoreError::VersionMismatch);
        }
        let (json, members) = split(data.kind, resource.into_map())?;
        data.check_unique(&json, &id)?;
        let (text, layout) = to_text_with_layout(&json)?;
        let Some(mut entry) = data.by_id.remove(id.as_str()) else {
            return Err(StoreError::NotFound(id));
        };
        if !data.keys_unchanged(&id, &json) {
            if let Err(err) = data.unindex_text(&id, &entry.json) {
                data.by_id.insert(Arc::clone(&entry.id), entry);
                return Err(err);
            }
            data.index(&entry.id, &json);
        }
        if let Some(old_members) = &entry.members {
            data.unlink_members(&id, old_members);
        }
        if let Some(new_members) = &members {
            data.link_members(&entry.id, new_members);
        }
        entry.json = text;
        entry.layout = layout;
        entry.display = display_of(data.kind, &json);
        entry.members = members;
        let kind = data.kind;
        let entry_id = Arc::clone(&entry.id);
        data.by_id.insert(Arc::clone(&entry_id), entry);
        Ok((kind, key, entry_id, json))
    }

    fn delete(
        &mut self,
        view: &ResourceTypeView,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let data = self
            .types
            .get_mut(&type_key(view))
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let entry = data
            .by_id
            .get(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let json = entry.value()?;
        check_version(&json, expected_version)?;
        let Some(entry) = data.by_id.remove(id) else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        data.order.remove(&entry.seq);
        data.unindex(id, &json);
        if let Some(members) = &entry.members {
            data.unlink_members(id, members);
        }
        // Whatever was deleted is no longer a member of any group (RFC 7644 §3.6).
        let now = crate::meta::format_date_time(chrono::Utc::now());
        for groups in self.types.values_mut().filter(|d| d.kind == Kind::Group) {
            let Some(group_ids) = groups.member_of.remove(id) else {
                continue;
            };
            for gid in group_ids {
                if let Some(group) = groups.by_id.get_mut(&gid) {
                    if let Some(members) = &mut group.members {
                        members.remove(id);
                    }
                    let mut json = group.value()?;
                    let mut hasher = chain_start(&json);
                    chain_step(&mut hasher, b'-', id);
                    set_version(&mut json, chain_finish(hasher), &now);
                    (group.json, group.layout) = to_text_with_layout(&json)?;
                }
            }
        }
        Ok(())
    }

    fn modify_members(
        &mut self,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected_version: Option<&str>,
    ) -> Result<MembershipOutcome, StoreError> {
        let data = self
            .types
            .get_mut(&type_key(view))
            .ok_or_else(|| StoreError::NotFound(group_id.to_owned()))?;
        if data.kind != Kind::Group {
            return Err(StoreError::Unsupported(format!(
                "{} resources have no `members`",
                view.resource_type.name
            )));
        }
        let TypeData {
            by_id, member_of, ..
        } = data;
        let entry = by_id
            .get_mut(group_id)
            .ok_or_else(|| StoreError::NotFound(group_id.to_owned()))?;
        let mut json = entry.value()?;
        check_version(&json, expected_version)?;
        // Validate everything before changing anything (atomicity).
        let mut adds = Vec::with_capacity(change.add.len());
        for value in &change.add {
            let Some(id) = value.get("value").and_then(Value::as_str) else {
                return Err(StoreError::Unsupported(
                    "a member to add needs a string `value` (the member's id)".into(),
                ));
            };
            adds.push((id, value));
        }
        let members = entry.members.get_or_insert_with(Box::default);
        let mut hasher = chain_start(&json);
        let mut changed = false;
        for id in &change.remove {
            if members.remove(id) {
                unlink(member_of, id, group_id);
                chain_step(&mut hasher, b'-', id);
                changed = true;
            }
        }
        for (id, value) in adds {
            if members.insert(id, value)? {
                link(member_of, id, &entry.id);
                chain_step(&mut hasher, b'+', id);
                changed = true;
            }
        }
        if changed {
            let now = crate::meta::format_date_time(chrono::Utc::now());
            set_version(&mut json, chain_finish(hasher), &now);
            (entry.json, entry.layout) = to_text_with_layout(&json)?;
        }
        let version = stored_version(&json).unwrap_or_default().to_owned();
        Ok(MembershipOutcome::new(changed, version))
    }
}

fn chain_start(json: &Value) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(b"scim-members-v1");
    hasher.update(stored_version(json).unwrap_or_default().as_bytes());
    hasher
}

fn chain_step(hasher: &mut Sha256, op: u8, id: &str) {
    hasher.update([op]);
    hasher.update((id.len() as u64).to_be_bytes());
    hasher.update(id.as_bytes());
}

fn chain_finish(hasher: Sha256) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = hasher.finalize();
    let mut out = String::with_capacity(36);
    out.push_str("W/\"");
    for byte in digest.iter().take(16) {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out.push('"');
    out
}

fn set_version(json: &mut Value, version: String, now: &str) {
    let Value::Object(map) = json else {
        return;
    };
    let meta = map
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("version".into(), Value::String(version));
        meta.insert("lastModified".into(), Value::String(now.to_owned()));
    }
}

// ---------------------------------------------------------------------------------------
// Queries (RFC 7644 §3.4.2)
// ---------------------------------------------------------------------------------------

/// Whether `filter` names the attribute `name` anywhere (at the top level).
fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } | Filter::ValuePath { path, .. } => {
            path.name.eq_ignore_ascii_case(name)
        }
        Filter::Not(inner) => mentions(inner, name),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
    }
}

/// The operands of a top-level `and` chain.
fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// Reports operator/type errors (RFC 7644 §3.4.2.2 `invalidFilter`) independently of the
/// data: every comparison is evaluated once against an empty resource, where the type
/// checks run before any value is looked at.
fn check_filter(filter: &Filter, view: &ResourceTypeView) -> Result<(), StoreError> {
    fn walk(
        filter: &Filter,
        view: &ResourceTypeView,
        outer: Option<&AttrPath>,
    ) -> Result<(), scim_filter::EvalError> {
        match filter {
            Filter::Present(_) => Ok(()),
            Filter::Not(inner) => walk(inner, view, outer),
            Filter::And(a, b) | Filter::Or(a, b) => {
                walk(a, view, outer)?;
                walk(b, view, outer)
            }
            Filter::Compare { .. } => match outer {
                None => filter.matches(&Value::Object(Map::new()), view).map(drop),
                Some(path) => {
                    let mut probe = Map::new();
                    let element = Value::Array(vec![Value::Object(Map::new())]);
                    probe.insert(path.name.clone(), element.clone());
                    if let Some(uri) = &path.uri {
                        let mut ext = Map::new();
                        ext.insert(path.name.clone(), element);
                        probe.insert(uri.clone(), Value::Object(ext));
                    }
                    let wrapped = Filter::ValuePath {
                        path: path.clone(),
                        filter: Box::new(filter.clone()),
                    };
                    wrapped.matches(&Value::Object(probe), view).map(drop)
                }
            },
            Filter::ValuePath { path, filter } => match outer {
                None => walk(filter, view, Some(path)),
                Some(_) => Ok(()),
            },
        }
    }
    walk(filter, view, None).map_err(|e| StoreError::InvalidFilter(e.message))
}

/// A sort key (RFC 7644 §3.4.2.3); variants order mixed types deterministically.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortKey {
    Bool(bool),
    Number(f64),
    Instant(DateTime<FixedOffset>),
    Str(String),
}

fn cmp_keys(a: &SortKey, b: &SortKey) -> Ordering {
    match (a, b) {
        (SortKey::Number(x), SortKey::Number(y)) => x.total_cmp(y),
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

fn get_ci<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The value a resource sorts by: the `primary` element's, else the first one.
fn sort_value<'a>(json: &'a Value, sort: &Sort, whole: &AttrPath) -> Option<&'a Value> {
    let elements = whole.values(json);
    if elements.len() > 1 || elements.first().is_some_and(|e| e.get("primary").is_some()) {
        let primary = elements
            .iter()
            .find(|e| get_ci(e, "primary") == Some(&Value::Bool(true)));
        if let Some(primary) = primary {
            let sub = sort.by.sub_attr.as_deref().unwrap_or("value");
            if let Some(v) = get_ci(primary, sub).filter(|v| !v.is_null()) {
                return Some(v);
            }
        }
    }
    let first = sort.by.values(json).into_iter().next()?;
    if first.is_object() {
        get_ci(first, "value").filter(|v| !v.is_null())
    } else {
        Some(first)
    }
}

fn sort_key(value: &Value, attr_type: Option<AttributeType>, case_exact: bool) -> Option<SortKey> {
    match value {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Number),
        Value::String(s) => {
            if attr_type == Some(AttributeType::DateTime) {
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    return Some(SortKey::Instant(t));
                }
            }
            Some(SortKey::Str(if case_exact { s.clone() } else { fold(s) }))
        }
        _ => None,
    }
}

/// A decoded cursor (RFC 9865): after a sequence number (unsorted) or at an offset (sorted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    After(u64),
    Offset(usize),
}

const CURSOR_PREFIX: &str = "mc1";

impl Cursor {
    fn encode(self) -> String {
        match self {
            Cursor::After(seq) => format!("{CURSOR_PREFIX}a{seq:x}"),
            Cursor::Offset(o) => format!("{CURSOR_PREFIX}o{o:x}"),
        }
    }

    fn decode(s: &str) -> Result<Cursor, StoreError> {
        let invalid = || {
            StoreError::InvalidCursor(format!(
                "the cursor `{s}` was not issued by this service provider; start again \
                 without a cursor"
            ))
        };
        let rest = s.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
        let mut chars = rest.chars();
        let tag = chars.next().ok_or_else(invalid)?;
        let digits = chars.as_str();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        match tag {
            'a' => u64::from_str_radix(digits, 16)
                .map(Cursor::After)
                .map_err(|_| invalid()),
            'o' => usize::from_str_radix(digits, 16)
                .map(Cursor::Offset)
                .map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
}

impl TenantState {
    fn query(&self, query: &Query<'_>) -> Result<QueryPage, StoreError> {
        let (resources, total, next) = self.query_with(query, Self::materialize)?;
        let mut page = QueryPage::new(resources, total);
        page.next_cursor = next;
        Ok(page)
    }

    fn query_json(&self, query: &Query<'_>) -> Result<JsonPage, StoreError> {
        let (resources, total, next) = self.query_with(query, Self::stored_json)?;
        let mut page = JsonPage::new(resources, total);
        page.next_cursor = next;
        Ok(page)
    }

    /// The page of `query` (each resource through `out`), the total and the next cursor.
    fn query_with<T>(
        &self,
        query: &Query<'_>,
        out: impl Fn(&Self, Kind, &Entry) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, usize, Option<String>), StoreError> {
        if let Some(filter) = query.filter {
            check_filter(filter, query.view)?;
        }
        let Some(data) = self.types.get(&type_key(query.view)) else {
            return Ok((Vec::new(), 0, None));
        };
        if query.filter.is_none() && query.sort.is_none() {
            return self.query_unfiltered(data, &query.page, out);
        }
        let derived = data.kind.derived_attr();
        let filter_needs = derived.is_some_and(|d| query.filter.is_some_and(|f| mentions(f, d)));
        let sort_needs = derived.is_some_and(|d| {
            query
                .sort
                .is_some_and(|s| s.by.name.eq_ignore_ascii_case(d))
        });

        // An index-served clause; when it is the whole filter, its candidates are exactly
        // the matches (the index folds case as the evaluator does).
        let indexed = query.filter.and_then(|f| {
            let mut parts = Vec::new();
            conjuncts(f, &mut parts);
            parts
                .into_iter()
                .find_map(|c| Some((data.lookup(c, query.view)?, std::ptr::eq(c, f))))
        });
        let (candidates, exact): (Vec<&Entry>, bool) = match indexed {
            Some(found) => found,
            None => (
                data.order
                    .values()
                    .filter_map(|id| data.by_id.get(id))
                    .collect(),
                false,
            ),
        };
        let mut matches = match query.filter {
            Some(filter) if !exact => {
                let mut out = Vec::new();
                for entry in candidates {
                    let json = self.client_json(data.kind, entry, filter_needs)?;
                    if filter
                        .matches(&json, query.view)
                        .map_err(|e| StoreError::InvalidFilter(e.message))?
                    {
                        out.push(entry);
                    }
                }
                out
            }
            _ => candidates,
        };
        if let Some(sort) = query.sort {
            self.sort(&mut matches, data.kind, sort, query.view, sort_needs)?;
        }
        let total = matches.len();
        let sorted = query.sort.is_some();
        let (slice, next) = match &query.page {
            Page::Index { start_index, count } => {
                let start = start_index.saturating_sub(1).min(total);
                let end = start.saturating_add(*count).min(total);
                (&matches[start..end], None)
            }
            Page::Cursor { cursor, count } => {
                let start = match cursor.as_deref().map(Cursor::decode).transpose()? {
                    None => 0,
                    Some(Cursor::After(seq)) if !sorted => {
                        matches.partition_point(|e| e.seq <= seq)
                    }
                    Some(Cursor::Offset(offset)) if sorted => offset.min(total),
                    Some(_) => {
                        return Err(StoreError::InvalidCursor(
                            "the cursor belongs to a query with a different sortBy; start \
                             again without a cursor"
                                .into(),
                        ));
                    }
                };
                let end = start.saturating_add(*count).min(total);
                let next = if end < total && end > start {
                    Some(if sorted {
                        Cursor::Offset(end).encode()
                    } else {
                        Cursor::After(matches[end - 1].seq).encode()
                    })
                } else {
                    None
                };
                (&matches[start..end], next)
            }
        };
        let resources = slice
            .iter()
            .map(|e| out(self, data.kind, e))
            .collect::<Result<_, _>>()?;
        Ok((resources, total, next))
    }

    /// No filter, no sort: walk the order index and copy only the page.
    fn query_unfiltered<T>(
        &self,
        data: &TypeData,
        page: &Page,
        out: impl Fn(&Self, Kind, &Entry) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, usize, Option<String>), StoreError> {
        let total = data.by_id.len();
        let entries = |ids: &mut dyn Iterator<Item = (&u64, &Arc<str>)>, n: usize| {
            ids.take(n)
                .filter_map(|(_, id)| data.by_id.get(id))
                .collect::<Vec<_>>()
        };
        let (picked, next) = match page {
            Page::Index { start_index, count } => {
                let mut it = data.order.iter().skip(start_index.saturating_sub(1));
                (entries(&mut it, *count), None)
            }
            Page::Cursor { cursor, count } => {
                let after = match cursor.as_deref().map(Cursor::decode).transpose()? {
                    None => Bound::Unbounded,
                    Some(Cursor::After(seq)) => Bound::Excluded(seq),
                    Some(Cursor::Offset(_)) => {
                        return Err(StoreError::InvalidCursor(
                            "the cursor belongs to a sorted query; start again without a \
                             cursor"
                                .into(),
                        ));
                    }
                };
                let mut it = data.order.range((after, Bound::Unbounded));
                let picked = entries(&mut it, *count);
                let next = match picked.last() {
                    Some(last) if it.next().is_some() => Some(Cursor::After(last.seq).encode()),
                    _ => None,
                };
                (picked, next)
            }
        };
        let resources = picked
            .iter()
            .map(|e| out(self, data.kind, e))
            .collect::<Result<_, _>>()?;
        Ok((resources, total, next))
    }

    fn sort(
        &self,
        matches: &mut Vec<&Entry>,
        kind: Kind,
        sort: &Sort,
        view: &ResourceTypeView,
        derived: bool,
    ) -> Result<(), StoreError> {
        let by = &sort.by;
        let facts = view.facts(by.uri.as_deref(), &by.name, by.sub_attr.as_deref());
        let whole = AttrPath {
            uri: by.uri.clone(),
            name: by.name.clone(),
            sub_attr: None,
        };
        let mut keyed: Vec<(Option<SortKey>, &Entry)> = Vec::with_capacity(matches.len());
        for entry in matches.iter() {
            let json = self.client_json(kind, entry, derived)?;
            let key = sort_value(&json, sort, &whole)
                .and_then(|v| sort_key(v, facts.attr_type, facts.case_exact));
            keyed.push((key, *entry));
        }
        let descending = sort.order == SortOrder::Descending;
        // Stable: ties keep the default (creation) order.
        keyed.sort_by(|(a, _), (b, _)| match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if descending => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) if descending => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) if descending => cmp_keys(b, a),
            (Some(a), Some(b)) => cmp_keys(a, b),
        });
        *matches = keyed.into_iter().map(|(_, e)| e).collect();
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<Resource, StoreError> {
        let tenant = self.tenant_or_create(ctx.tenant());
        let mut state = write(&tenant);
        state.create(view, resource)
    }

    async fn create_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
    ) -> Result<StoredJson, StoreError> {
        let tenant = self.tenant_or_create(ctx.tenant());
        let mut state = write(&tenant);
        state.create_json(view, resource)
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Ok(None);
        };
        let state = read(&tenant);
        state.resource(&type_key(view), id)
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<QueryPage, StoreError> {
        match self.tenant(ctx.tenant()) {
            Some(tenant) => read(&tenant).query(query),
            None => TenantState::default().query(query),
        }
    }

    async fn get_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredJson>, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Ok(None);
        };
        let state = read(&tenant);
        state.resource_json(&type_key(view), id)
    }

    async fn query_json(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<JsonPage, StoreError> {
        match self.tenant(ctx.tenant()) {
            Some(tenant) => read(&tenant).query_json(query),
            None => TenantState::default().query_json(query),
        }
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<Resource, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(
                resource.id().unwrap_or_default().to_owned(),
            ));
        };
        let mut state = write(&tenant);
        state.replace(view, resource, expected_version)
    }

    async fn replace_json(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: Resource,
        expected_version: &str,
    ) -> Result<StoredJson, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(
                resource.id().unwrap_or_default().to_owned(),
            ));
        };
        let mut state = write(&tenant);
        state.replace_json(view, resource, expected_version)
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        let mut state = write(&tenant);
        state.delete(view, id, expected_version)
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected_version: Option<&str>,
    ) -> Result<MembershipOutcome, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(group_id.to_owned()));
        };
        let mut state = write(&tenant);
        state.modify_members(view, group_id, change, expected_version)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for c in [
            Cursor::After(0),
            Cursor::After(u64::MAX),
            Cursor::Offset(42),
        ] {
            assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        }
        for bad in [
            "",
            "mc1",
            "mc1a",
            "mc1x12",
            "mc1a-1",
            "abc",
            "mc1aFFFFFFFFFFFFFFFFF",
        ] {
            assert!(matches!(
                Cursor::decode(bad),
                Err(StoreError::InvalidCursor(_))
            ));
        }
    }

    #[test]
    fn folding_matches_the_filter_evaluator() {
        assert_eq!(fold("BJensen"), "bjensen");
        // Per-char folding: a final capital sigma folds to σ, as the evaluator does.
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
    }

    #[test]
    fn members_keep_insertion_order_and_dedupe() {
        let mut m = Members::from_list(&[
            serde_json::json!({"value": "b"}),
            serde_json::json!({"value": "a"}),
            serde_json::json!({"value": "b", "display": "dup"}),
        ])
        .unwrap();
        assert_eq!(m.to_json().unwrap().len(), 2);
        assert!(m.insert("c", &serde_json::json!({"value": "c"})).unwrap());
        assert!(!m.insert("a", &serde_json::json!({"value": "a"})).unwrap());
        assert!(m.remove("b"));
        assert!(!m.remove("b"));
        let ids: Vec<_> = m
            .to_json()
            .unwrap()
            .iter()
            .filter_map(|v| v["value"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids, ["a", "c"]);
    }
}
