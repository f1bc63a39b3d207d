//! [`MemoryStore`]: the indexed in-memory reference [`Store`] (RFC 7644 §3.3–§3.6).
//!
//! One file per concern: this one keeps records and writes them; [`indexes`] the unique and
//! `externalId` indexes; [`members`] Group membership; [`query`] answers queries.

mod indexes;
mod members;
mod query;

use super::{
    Membership, MembershipChange, MembershipOutcome, Query, QueryPage, Replaced, ResolvedSort,
    ResourceMeta, Store, StoreError, StoredResource, Version,
};
use crate::context::RequestContext;
use crate::schema::ResourceTypeView;
use async_trait::async_trait;
use indexes::{Indexes, Keys};
use members::{MemberOf, Members};
use scim_filter::Filter;
use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Maps keyed by what the server chose (resource ids, tenant names): foldhash, not SipHash.
/// The engine makes every id and the host names tenants, so a client cannot pick keys that
/// collide. Maps keyed by client values (the unique indexes, member values) keep std's
/// SipHash.
type ServerKeyed<K, V> = foldhash::HashMap<K, V>;

/// A thread-safe, per-tenant, in-memory store: the indexed reference implementation of
/// [`Store`], with every optional method.
///
/// * One [`RwLock`] per tenant (RFC 7644 §6), created on the tenant's first write. A
///   request locks only its own tenant, only inside synchronous code (never across an
///   `.await`); writes of one tenant are serialized, which makes uniqueness checks,
///   compare-and-swap and cascades atomic.
/// * Attributes are kept as the engine's compact JSON text (a parsed `serde_json::Value`
///   takes about four times the memory), which the engine copies into responses without
///   parsing. A typical IdP-provisioned user costs about 1 KiB with its indexes.
/// * Per tenant and resource type: the records by `id`, the `id`s in order (the order of
///   unsorted queries and keyset pages), a case-folded index per unique attribute (e.g.
///   `userName`) and an `externalId` index, which answer `eq` conditions of a filter's
///   top-level `and` chain; other conditions are evaluated on the candidates with the
///   engine's evaluator ([`Query::answer`]).
/// * Groups keep their members outside the text, in insertion order with a reverse index
///   member → Groups: adding or removing one member is `O(log n)`
///   ([`Store::modify_members`]), a member's Groups are one lookup
///   ([`Store::memberships`]), and `members.value eq "…"` is answered from the index.
/// * It filters and sorts everything itself except conditions and sorts on a User's
///   derived `groups`, which the engine applies.
///
/// Cloning is cheap and shares the data, so one store can be handed to the engine and kept
/// by the host (e.g. for seeding or inspection).
///
/// ```
/// use scim_core::store::{MemoryStore, Page, Query, ResolvedFilter, ResourceMeta, Store, StoredResource};
/// use scim_core::schema::SchemaRegistry;
/// use scim_core::{Principal, RequestContext};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = SchemaRegistry::default();
/// let users = registry.resource_type("User").ok_or("no User type")?;
/// let ctx = RequestContext::new(Principal::new("acme", "okta"), "https://example.com/scim/v2");
/// let store = MemoryStore::new();
///
/// let attributes = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"});
/// let user = StoredResource::from_map("2819c223", ResourceMeta::created_at(ctx.now), attributes.as_object().cloned().unwrap_or_default(), vec![]);
/// store.create(&ctx, users, &user).await?;
///
/// let filter = ResolvedFilter::resolve(&scim_filter::parse_filter(r#"userName eq "BJensen""#)?, users)?;
/// let page = store.query(&ctx, &Query::new(users, Page::All).with_filter(&filter)).await?;
/// assert_eq!(page.total, 1);
/// assert_eq!(page.resources[0].id(), "2819c223");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    tenants: Arc<RwLock<ServerKeyed<String, Arc<RwLock<TenantState>>>>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("tenants", &read(&self.tenants).len())
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Resource types are keyed by their name as the registry spells it (every view of a type
/// comes from the one registry, so the spelling is always the same).
fn type_key(view: &ResourceTypeView) -> &str {
    &view.resource_type.name
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of resources of `view`'s type in `tenant` (RFC 7644 §3.4.2
    /// `totalResults` of an unfiltered query), without copying any.
    pub fn len(&self, tenant: &str, view: &ResourceTypeView) -> usize {
        self.tenant(tenant).map_or(0, |t| {
            read(&t)
                .types
                .get(type_key(view))
                .map_or(0, |d| d.entries.len())
        })
    }

    /// Whether `tenant` has no resources of `view`'s type.
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

#[derive(Default)]
struct TenantState {
    types: TypeMap,
}

/// A tenant's data per resource type. A registry has a handful of types (usually `User`
/// and `Group`), so comparing their names beats hashing one on every request.
#[derive(Default)]
struct TypeMap(Vec<(String, TypeData)>);

impl TypeMap {
    fn get(&self, name: &str) -> Option<&TypeData> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut TypeData> {
        self.0.iter_mut().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    /// The data of `view`'s type, created empty on first use.
    fn get_or_create(&mut self, view: &ResourceTypeView) -> &mut TypeData {
        let name = type_key(view);
        let at = match self.0.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.0.push((name.to_owned(), TypeData::new(view)));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }

    fn values(&self) -> impl Iterator<Item = &TypeData> {
        self.0.iter().map(|(_, d)| d)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut TypeData> {
        self.0.iter_mut().map(|(_, d)| d)
    }
}

/// One stored resource.
struct Entry {
    meta: ResourceMeta,
    /// The attributes as the engine's compact JSON text.
    text: Arc<str>,
    keys: Keys,
    /// For Groups: the `displayName` (for [`Membership::display`]) and the members.
    display: Option<Box<str>>,
    members: Option<Box<Members>>,
}

/// The resources of one type in one tenant.
struct TypeData {
    groups: bool,
    entries: ServerKeyed<Arc<str>, Entry>,
    /// Every `id`, in order.
    order: BTreeSet<Arc<str>>,
    indexes: Indexes,
    /// For Groups: member → Groups.
    member_of: MemberOf,
}

impl TypeData {
    fn new(view: &ResourceTypeView) -> Self {
        Self {
            groups: view.has_members(),
            entries: ServerKeyed::default(),
            order: BTreeSet::new(),
            indexes: Indexes::new(view),
            member_of: MemberOf::default(),
        }
    }

    /// The record of `id`; with its members when `members`.
    fn record(
        &self,
        id: &Arc<str>,
        entry: &Entry,
        members: bool,
    ) -> Result<StoredResource, StoreError> {
        let list = match &entry.members {
            Some(m) if members => m.to_vec(),
            _ => Vec::new(),
        };
        StoredResource::from_text(Arc::clone(id), entry.meta, Arc::clone(&entry.text), list)
    }

    /// Checks and builds an entry for `resource` (nothing changes yet).
    fn prepare(&self, resource: &StoredResource) -> Result<Entry, StoreError> {
        let attributes = resource.attributes()?;
        let keys = self.indexes.keys(&attributes);
        self.indexes.check(&keys, resource.id(), &attributes)?;
        let text = match resource.text() {
            Some(text) => Arc::clone(text),
            None => Arc::from(resource.attributes_json().as_ref()),
        };
        let (display, members) = if self.groups {
            let display = attributes
                .get("displayName")
                .and_then(|v| v.as_str())
                .map(Box::from);
            (
                display,
                Some(Box::new(Members::from_list(resource.members()))),
            )
        } else {
            (None, None)
        };
        Ok(Entry {
            meta: *resource.meta(),
            text,
            keys,
            display,
            members,
        })
    }

    fn insert(&mut self, id: Arc<str>, entry: Entry) {
        self.indexes.insert(&id, &entry.keys);
        if let Some(members) = &entry.members {
            self.member_of.link_all(&id, members);
        }
        self.order.insert(Arc::clone(&id));
        self.entries.insert(id, entry);
    }

    /// Puts `entry` in the place of the entry of `id`, keeping its place in the id order
    /// and touching the indexes only where its keys changed; `None` if there is none.
    fn update(&mut self, id: &str, entry: Entry) -> Option<()> {
        let id = self
            .entries
            .get_key_value(id)
            .map(|(id, _)| Arc::clone(id))?;
        let old = self.entries.get_mut(&id)?;
        if old.keys != entry.keys {
            self.indexes.remove(&id, &old.keys);
            self.indexes.insert(&id, &entry.keys);
        }
        if let Some(members) = &old.members {
            self.member_of.unlink_all(&id, members);
        }
        if let Some(members) = &entry.members {
            self.member_of.link_all(&id, members);
        }
        *old = entry;
        Some(())
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let (id, entry) = self.entries.remove_entry(id)?;
        self.indexes.remove(&id, &entry.keys);
        if let Some(members) = &entry.members {
            self.member_of.unlink_all(&id, members);
        }
        self.order.remove(&id);
        Some(entry)
    }
}

impl TenantState {
    fn create(
        &mut self,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError> {
        let data = self.types.get_or_create(view);
        if data.entries.contains_key(resource.id()) {
            return Err(StoreError::Uniqueness(format!(
                "id `{}` is already taken",
                resource.id()
            )));
        }
        let entry = data.prepare(resource)?;
        data.insert(Arc::from(resource.id()), entry);
        Ok(())
    }

    fn replace(
        &mut self,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<(), StoreError> {
        let not_found = || StoreError::NotFound(resource.id().to_owned());
        let data = self.types.get_mut(type_key(view)).ok_or_else(not_found)?;
        let old = data.entries.get(resource.id()).ok_or_else(not_found)?;
        if old.meta.version != expected {
            return Err(StoreError::VersionMismatch);
        }
        let entry = data.prepare(resource)?;
        data.update(resource.id(), entry).ok_or_else(not_found)
    }

    fn delete(
        &mut self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), StoreError> {
        let not_found = || StoreError::NotFound(id.to_owned());
        let data = self.types.get_mut(type_key(view)).ok_or_else(not_found)?;
        let entry = data.entries.get(id).ok_or_else(not_found)?;
        if expected.is_some_and(|v| v != entry.meta.version) {
            return Err(StoreError::VersionMismatch);
        }
        data.remove(id);
        // Whatever was deleted is no longer a member of any Group (RFC 7644 §3.6).
        for groups in self.types.values_mut().filter(|d| d.groups) {
            for gid in groups.member_of.take(id) {
                if let Some(group) = groups.entries.get_mut(&gid) {
                    if let Some(members) = &mut group.members {
                        members.remove(id);
                    }
                    group.meta = group.meta.changed_at(ctx.now);
                }
            }
        }
        Ok(())
    }

    fn modify_members(
        &mut self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, StoreError> {
        let not_found = || StoreError::NotFound(group_id.to_owned());
        let data = self.types.get_mut(type_key(view)).ok_or_else(not_found)?;
        if !data.groups {
            return Err(StoreError::Unsupported(format!(
                "{} resources have no members",
                view.resource_type.name
            )));
        }
        let TypeData {
            entries, member_of, ..
        } = data;
        let (gid, entry) = entries.get_key_value(group_id).ok_or_else(not_found)?;
        let gid = Arc::clone(gid);
        if expected.is_some_and(|v| v != entry.meta.version) {
            return Err(StoreError::VersionMismatch);
        }
        let entry = entries.get_mut(&gid).ok_or_else(not_found)?;
        let members = entry.members.get_or_insert_with(Box::default);
        let mut changed = false;
        for id in &change.remove {
            if members.remove(id) {
                member_of.unlink(id, &gid);
                changed = true;
            }
        }
        for member in &change.add {
            if members.insert(member) {
                member_of.link(&member.value, &gid);
                changed = true;
            }
        }
        if changed {
            entry.meta = entry.meta.changed_at(ctx.now);
        }
        Ok(MembershipOutcome::new(changed, entry.meta))
    }

    fn memberships(&self, groups: &ResourceTypeView, member_ids: &[&str]) -> Vec<Membership> {
        let Some(data) = self.types.get(type_key(groups)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for member in member_ids {
            data.push_memberships(member, &mut out);
        }
        out
    }

    /// `record` with its derived `groups` attached (RFC 7643 §4.1.2), read under the same
    /// lock, when `view` derives them: what [`Store::memberships`] would answer for it, so
    /// the engine need not ask.
    fn with_groups(&self, view: &ResourceTypeView, record: StoredResource) -> StoredResource {
        if !view.derives_groups() {
            return record;
        }
        let mut groups = Vec::new();
        for data in self.types.values().filter(|d| d.groups) {
            data.push_memberships(record.id(), &mut groups);
        }
        record.with_groups(groups)
    }
}

impl TypeData {
    /// The memberships of `member` in these Groups.
    fn push_memberships(&self, member: &str, out: &mut Vec<Membership>) {
        for gid in self.member_of.of(member) {
            let display = self
                .entries
                .get(gid)
                .and_then(|g| g.display.as_deref())
                .map(str::to_owned);
            out.push(Membership::new(member, gid.as_ref(), display));
        }
    }
}

/// Whether a condition or sort names a User's derived `groups` (the engine applies those).
fn names_derived(view: &ResourceTypeView, name: &str) -> bool {
    view.derives_groups() && name.eq_ignore_ascii_case("groups")
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError> {
        let tenant = self.tenant_or_create(ctx.tenant());
        let mut state = write(&tenant);
        state.create(view, resource)
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Ok(None);
        };
        let state = read(&tenant);
        let Some(data) = state.types.get(type_key(view)) else {
            return Ok(None);
        };
        match data.entries.get_key_value(id) {
            Some((id, entry)) => Ok(Some(state.with_groups(view, data.record(id, entry, true)?))),
            None => Ok(None),
        }
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<Replaced, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(resource.id().to_owned()));
        };
        let mut state = write(&tenant);
        state
            .replace(view, resource, expected)
            .map(|()| Replaced::new())
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(id.to_owned()));
        };
        let mut state = write(&tenant);
        state.delete(ctx, view, id, expected)
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<QueryPage, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Ok(QueryPage::default());
        };
        let state = read(&tenant);
        let Some(data) = state.types.get(type_key(query.view)) else {
            return Ok(QueryPage::default());
        };
        let mut page = data.query(query)?;
        page.resources = std::mem::take(&mut page.resources)
            .into_iter()
            .map(|record| state.with_groups(query.view, record))
            .collect();
        Ok(page)
    }

    async fn memberships(
        &self,
        ctx: &RequestContext,
        groups: &ResourceTypeView,
        member_ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError> {
        Ok(match self.tenant(ctx.tenant()) {
            Some(tenant) => read(&tenant).memberships(groups, member_ids),
            None => Vec::new(),
        })
    }

    fn filters(&self, view: &ResourceTypeView, condition: &Filter) -> bool {
        match condition {
            Filter::Present(path)
            | Filter::Compare { path, .. }
            | Filter::ValuePath { path, .. }
            | Filter::ElementTest { path, .. } => !names_derived(view, &path.name),
            _ => true,
        }
    }

    fn sorts(&self, view: &ResourceTypeView, sort: &ResolvedSort) -> bool {
        !names_derived(view, &sort.path().name)
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, StoreError> {
        let Some(tenant) = self.tenant(ctx.tenant()) else {
            return Err(StoreError::NotFound(group_id.to_owned()));
        };
        let mut state = write(&tenant);
        state.modify_members(ctx, view, group_id, change, expected)
    }
}
