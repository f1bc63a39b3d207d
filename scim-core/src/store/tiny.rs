//! [`TinyStore`]: a complete [`Store`] in one file, to read before writing your own.
//!
//! It keeps three tables behind one mutex — resources, Group members, and a reverse index
//! of members — the shape a SQL store has (see `scim-sqlx`). It implements the six required
//! methods and [`Store::modify_members`] (so adding a member to a 100 000-member Group is
//! one insert) and leaves filters and sorting to the engine ([`Store::filters`] and
//! [`Store::sorts`] keep their defaults): [`Query::answer`] does its paging. Uniqueness
//! checks and unfiltered queries scan the tenant's resources of one type, which is fine for
//! an example and small directories; [`MemoryStore`](super::MemoryStore) is the indexed
//! reference.
//!
//! It passes the store [`suite`](super::suite) and the HTTP suite in `tests/`, like every
//! store of the workspace.

use super::{
    Member, Membership, MembershipChange, MembershipOutcome, Query, QueryPage, Replaced,
    ResourceMeta, Store, StoreError, StoredResource, Version, unique_attributes,
};
use crate::context::RequestContext;
use crate::schema::ResourceTypeView;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// (tenant, resource type name in lower case, id): resource types are case-insensitive
/// (RFC 7643 §6).
type Key = (String, String, String);

fn key(ctx: &RequestContext, view: &ResourceTypeView, id: &str) -> Key {
    let kind = view.resource_type.name.to_ascii_lowercase();
    (ctx.tenant().to_owned(), kind, id.to_owned())
}

/// A row of the resources table: everything but the members.
struct Row {
    meta: ResourceMeta,
    attributes: Arc<str>,
    /// For Groups, the `displayName` (for [`Membership::display`]).
    display: Option<String>,
}

/// One Group's members: insertion order, and the position of each member id.
#[derive(Default)]
struct MemberList {
    next: u64,
    order: BTreeMap<u64, Member>,
    position: HashMap<String, u64>,
}

impl MemberList {
    fn insert(&mut self, member: &Member) -> bool {
        if self.position.contains_key(&member.value) {
            return false;
        }
        self.position.insert(member.value.clone(), self.next);
        self.order.insert(self.next, member.clone());
        self.next += 1;
        true
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.position.remove(id) {
            Some(at) => self.order.remove(&at).is_some(),
            None => false,
        }
    }

    fn to_vec(&self) -> Vec<Member> {
        self.order.values().cloned().collect()
    }
}

#[derive(Default)]
struct Tables {
    resources: HashMap<Key, Row>,
    /// Group key → its members.
    members: HashMap<Key, MemberList>,
    /// (tenant, member id) → keys of the Groups it is a member of.
    member_of: HashMap<(String, String), BTreeSet<Key>>,
}

impl Tables {
    fn record(&self, key: &Key, with_members: bool) -> Result<Option<StoredResource>, StoreError> {
        let Some(row) = self.resources.get(key) else {
            return Ok(None);
        };
        let members = match self.members.get(key) {
            Some(list) if with_members => list.to_vec(),
            _ => Vec::new(),
        };
        StoredResource::from_text(
            key.2.as_str(),
            row.meta,
            Arc::clone(&row.attributes),
            members,
        )
        .map(Some)
    }

    /// Fails if another resource of the type in the tenant has one of `resource`'s unique keys.
    fn check_unique(
        &self,
        key: &Key,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError> {
        let unique = unique_attributes(view);
        let mine = resource.unique_keys(&unique)?;
        if mine.is_empty() {
            return Ok(());
        }
        let attributes = resource.attributes()?;
        for ((tenant, kind, id), row) in &self.resources {
            if (tenant, kind) != (&key.0, &key.1) || id == &key.2 {
                continue;
            }
            let other = StoredResource::from_text(
                id.as_str(),
                row.meta,
                Arc::clone(&row.attributes),
                Vec::new(),
            )?;
            let theirs = other.unique_keys(&unique)?;
            if let Some((attr, _)) = mine.iter().find(|m| theirs.contains(m)) {
                return Err(attr.taken(&attributes));
            }
        }
        Ok(())
    }

    /// Sets a Group's members (creating or replacing the list) and the reverse index.
    fn set_members(&mut self, key: &Key, members: &[Member]) {
        self.drop_members(key);
        if members.is_empty() {
            return;
        }
        let mut list = MemberList::default();
        for member in members {
            if list.insert(member) {
                let of = self.member_of.entry((key.0.clone(), member.value.clone()));
                of.or_default().insert(key.clone());
            }
        }
        self.members.insert(key.clone(), list);
    }

    fn drop_members(&mut self, key: &Key) {
        let Some(list) = self.members.remove(key) else {
            return;
        };
        for member in list.position.keys() {
            let of = (key.0.clone(), member.clone());
            if let Some(groups) = self.member_of.get_mut(&of) {
                groups.remove(key);
                if groups.is_empty() {
                    self.member_of.remove(&of);
                }
            }
        }
    }

    fn write(&mut self, key: Key, resource: &StoredResource) -> Result<(), StoreError> {
        let attributes = match resource.text() {
            Some(text) => Arc::clone(text),
            None => Arc::from(resource.attributes_json().as_ref()),
        };
        let display = resource
            .attributes()?
            .get("displayName")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        self.set_members(&key, resource.members());
        let row = Row {
            meta: *resource.meta(),
            attributes,
            display,
        };
        self.resources.insert(key, row);
        Ok(())
    }
}

/// A complete, unindexed [`Store`] (see the [module docs](self)). Cloning shares the data.
#[derive(Clone, Default)]
pub struct TinyStore {
    tables: Arc<Mutex<Tables>>,
}

impl std::fmt::Debug for TinyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TinyStore").finish_non_exhaustive()
    }
}

impl TinyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for TinyStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock();
        let key = key(ctx, view, resource.id());
        if tables.resources.contains_key(&key) {
            return Err(StoreError::Uniqueness(format!(
                "id `{}` is already taken",
                resource.id()
            )));
        }
        tables.check_unique(&key, view, resource)?;
        tables.write(key, resource)
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.lock().record(&key(ctx, view, id), true)
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<Replaced, StoreError> {
        let mut tables = self.lock();
        let key = key(ctx, view, resource.id());
        let stored = tables
            .resources
            .get(&key)
            .ok_or_else(|| StoreError::NotFound(resource.id().to_owned()))?;
        if stored.meta.version != expected {
            return Err(StoreError::VersionMismatch);
        }
        tables.check_unique(&key, view, resource)?;
        tables.write(key, resource).map(|()| Replaced::new())
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock();
        let key = key(ctx, view, id);
        let stored = tables
            .resources
            .get(&key)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        if expected.is_some_and(|v| v != stored.meta.version) {
            return Err(StoreError::VersionMismatch);
        }
        tables.resources.remove(&key);
        tables.drop_members(&key);
        // The deleted resource leaves every Group of the tenant, each of which changes.
        let groups = tables
            .member_of
            .remove(&(key.0.clone(), id.to_owned()))
            .unwrap_or_default();
        for group in groups {
            if let Some(list) = tables.members.get_mut(&group) {
                list.remove(id);
            }
            if let Some(row) = tables.resources.get_mut(&group) {
                row.meta = row.meta.changed_at(ctx.now);
            }
        }
        Ok(())
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        query: &Query<'_>,
    ) -> Result<QueryPage, StoreError> {
        let tables = self.lock();
        let kind = query.view.resource_type.name.to_ascii_lowercase();
        let mut candidates = Vec::new();
        for key in tables.resources.keys() {
            if key.0 == ctx.tenant() && key.1 == kind {
                candidates.extend(tables.record(key, query.members)?);
            }
        }
        query.answer(candidates)
    }

    async fn memberships(
        &self,
        ctx: &RequestContext,
        groups: &ResourceTypeView,
        member_ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError> {
        let tables = self.lock();
        let kind = groups.resource_type.name.to_ascii_lowercase();
        let mut out = Vec::new();
        for member in member_ids {
            let Some(of) = tables
                .member_of
                .get(&(ctx.tenant().to_owned(), (*member).to_owned()))
            else {
                continue;
            };
            for group in of.iter().filter(|g| g.1 == kind) {
                let display = tables
                    .resources
                    .get(group)
                    .and_then(|row| row.display.clone());
                out.push(Membership::new(*member, &group.2, display));
            }
        }
        Ok(out)
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, StoreError> {
        let mut tables = self.lock();
        let key = key(ctx, view, group_id);
        let meta = tables
            .resources
            .get(&key)
            .map(|row| row.meta)
            .ok_or_else(|| StoreError::NotFound(group_id.to_owned()))?;
        if expected.is_some_and(|v| v != meta.version) {
            return Err(StoreError::VersionMismatch);
        }
        let Tables {
            members,
            member_of,
            resources,
        } = &mut *tables;
        let list = members.entry(key.clone()).or_default();
        let mut changed = false;
        for id in &change.remove {
            if list.remove(id) {
                changed = true;
                if let Some(groups) = member_of.get_mut(&(key.0.clone(), id.clone())) {
                    groups.remove(&key);
                }
            }
        }
        for member in &change.add {
            if list.insert(member) {
                changed = true;
                member_of
                    .entry((key.0.clone(), member.value.clone()))
                    .or_default()
                    .insert(key.clone());
            }
        }
        let Some(row) = resources.get_mut(&key) else {
            return Err(StoreError::NotFound(group_id.to_owned()));
        };
        if changed {
            row.meta = row.meta.changed_at(ctx.now);
        }
        Ok(MembershipOutcome::new(changed, row.meta))
    }
}
