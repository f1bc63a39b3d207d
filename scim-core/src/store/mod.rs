//! The host's storage (RFC 7644 §3.3–§3.6): the [`Store`] trait, the records it keeps, the
//! resolved queries it answers, and the reference stores [`MemoryStore`] (indexed) and
//! [`TinyStore`] (one file, required methods and size-independent membership).
//!
//! The engine owns SCIM semantics — attribute names, filter types, sort rules, cursors,
//! `meta` rendering, derived `groups` — so a store only keeps records and answers resolved
//! queries, and every store gives the same answers. The [`suite`] checks a store against
//! this contract.
//!
//! # Resolved queries
//!
//! Before a store sees a query, the engine has
//!
//! * resolved every attribute path to its schema attribute ([`ResolvedFilter`]): names in
//!   schema case, core attributes without a URN, extension attributes with their extension's
//!   URN (RFC 7644 §3.10; an unqualified name that only an extension defines resolves into
//!   it), sub-attributes in schema case; names no schema defines stay as written and have no
//!   value in any resource;
//! * checked operators against attribute types, independently of the data (`active gt true`
//!   is 400 `invalidFilter` on an empty store too);
//! * validated `sortBy` ([`ResolvedSort`]) and decoded the cursor into a [`Position`];
//! * split the filter into what the store said it applies ([`Store::filters`]) and a
//!   remainder it evaluates itself over the store's candidates.
//!
//! A store answers a [`Query`]: the resources of one type in one tenant that match its
//! filter, in the order of [`ResolvedSort::compare`] (by `id` when there is no sort), one
//! [`Page`] of them, and how many match in all. [`Query::answer`] does all of that in Rust
//! over candidate resources, so a store that keeps resources in memory (or cannot push a
//! part of the query into its database) never re-implements SCIM semantics.

mod cursor;
mod memory;
pub(crate) mod query;
mod record;
pub mod suite;
pub mod tiny;
mod unique;

pub use cursor::CursorScope;
pub use memory::MemoryStore;
pub use query::{
    Page, Position, Query, QueryPage, ResolvedFilter, ResolvedSort, SortOrder, SortValue,
};
pub use record::{
    Member, Membership, MembershipChange, MembershipOutcome, Replaced, ResourceMeta,
    StoredResource, Version,
};
pub use tiny::TinyStore;
pub use unique::{UniqueAttribute, fold_case, unique_attributes};

use crate::context::RequestContext;
use crate::schema::ResourceTypeView;
use async_trait::async_trait;
use scim_filter::Filter;
use std::sync::Arc;

/// Why a store call failed. The engine maps each variant to an RFC 7644 §3.12 error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The resource does not exist in this tenant. → 404.
    #[error("resource `{0}` not found")]
    NotFound(String),
    /// A unique attribute's value (see [`unique_attributes`]) or the `id` is already taken
    /// in this tenant; the text names the attribute and value ([`UniqueAttribute::taken`]).
    /// → 409 `uniqueness`.
    #[error("{0}")]
    Uniqueness(String),
    /// The stored version is not the expected one (compare-and-swap lost). → retried by the
    /// engine, or 412 when the client sent `If-Match`.
    #[error("the resource was modified concurrently (version mismatch)")]
    VersionMismatch,
    /// The store does not offer an optional capability (e.g.
    /// [`Store::modify_members`]); the engine falls back to the required methods.
    #[error("{0}")]
    Unsupported(String),
    /// The query would process more resources than the store allows (RFC 7644 §3.4.2.2
    /// `tooMany`). → 400 `tooMany`.
    #[error("{0}")]
    TooMany(String),
    /// The backing store failed (connection lost, pool exhausted, corrupt data, …). The engine
    /// logs it once with its source chain (a `tracing` `error` event with target
    /// `scim::store`: tenant, operation, resource type, id — never a request body or a
    /// token) and answers 503 with `Retry-After` and a generic detail: IdPs retry 5xx, and
    /// most backend failures are transient.
    #[error("store failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A [`StoreError::Backend`] from any error or message.
    pub fn backend(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend(err.into())
    }
}

/// The host's resource storage (RFC 7644 §3.3–§3.6), one instance shared by every request.
///
/// # Required methods and their duties
///
/// | method | what it does |
/// | --- | --- |
/// | [`create`](Store::create) | insert a new resource |
/// | [`get`](Store::get) | one resource by `id` |
/// | [`replace`](Store::replace) | compare-and-swap a resource |
/// | [`delete`](Store::delete) | delete a resource, and its memberships |
/// | [`query`](Store::query) | answer a resolved [`Query`] |
/// | [`memberships`](Store::memberships) | the groups a set of members belong to |
///
/// Every duty, in one place:
///
/// * **Tenants** (RFC 7644 §6). Every call carries a [`RequestContext`]; every read and
///   write is scoped to `ctx.tenant()`, and resources of different tenants never meet.
/// * **Records.** Keep each [`StoredResource`] as the engine hands it over: `id`, the
///   attributes (byte for byte when kept as text), the [`ResourceMeta`] and, for Groups,
///   the [`Member`]s in order. Hand them back the same way.
/// * **Uniqueness** (RFC 7643 §2.2, §4.1.1). On `create` and `replace`, fail with
///   [`StoreError::Uniqueness`] when another resource of the type in the tenant has the same
///   key for one of [`unique_attributes`] ([`StoredResource::unique_keys`]; `userName`
///   compares case-insensitively), or when `create`'s `id` exists. The check and the write
///   are atomic: of two concurrent creates of `bjensen` and `BJensen`, one fails.
/// * **Compare-and-swap** (RFC 7644 §3.14). `replace` and `delete` (with a version) happen
///   only if the stored [`Version`] equals the expected one, else
///   [`StoreError::VersionMismatch`], atomically with the write. The engine retries
///   read-modify-write cycles on a mismatch, so concurrent PATCHes never lose changes.
/// * **Versions and meta.** The store keeps `created`, `lastModified` and the version. The
///   engine computes them for `create` and `replace` (`replace` hands over the next version
///   of the expected one). Whenever the store changes a resource by itself — a membership
///   change, the cascade of a delete — it sets `version` to the next one and `lastModified`
///   to `ctx.now` ([`ResourceMeta::changed_at`]). The engine renders `meta` (with
///   `resourceType`, `location` and the ETag) at output; nothing of that is stored.
/// * **Membership** (RFC 7643 §4.2). A Group's members are part of its record (the store
///   may keep them in a table of their own). `memberships` answers, for member ids, every
///   direct membership in the Groups of a resource type, with each Group's current
///   `displayName`; the engine derives a User's read-only `groups` (RFC 7643 §4.1.2) from
///   it. Stores never store `groups`. A store that can read them in the same statement as
///   the record may attach them to what `get` and `query` return
///   ([`StoredResource::with_groups`]); the engine then skips `memberships` for those
///   records.
/// * **Delete cascades** (RFC 7644 §3.6). Deleting any resource removes it from the members
///   of every Group of the tenant (each such Group gets the next version and `lastModified`
///   = `ctx.now`) and deletes its own members, atomically with the delete.
/// * **Queries** (RFC 7644 §3.4.2). `query` returns the matches of the query's filter, in
///   its order (by `id` when unsorted; ties by `id`), the requested [`Page`], and the total
///   number of matches. The engine puts only conditions the store said it applies
///   ([`filters`](Store::filters)) and a sort it said it applies ([`sorts`](Store::sorts))
///   into a query; by default a store applies none and the engine filters and sorts the
///   resources of the type itself. Paging — [`Page::All`], offsets and keyset positions in
///   `(sort value, id)` order — is always the store's. [`Query::answer`] does all of it in
///   Rust over candidates.
///
/// # Optional methods
///
/// | method | default | override to |
/// | --- | --- | --- |
/// | [`cached_copy`](Store::cached_copy) | `None`: the engine reads with `get` | base a PUT or PATCH on a copy at hand, confirmed by the compare-and-swap |
/// | [`filters`](Store::filters) | `false`: the engine filters | push conditions into the backend (SQL `WHERE`, an index) |
/// | [`sorts`](Store::sorts) | `false`: the engine sorts | push `sortBy` into the backend (`ORDER BY`) |
/// | [`modify_members`](Store::modify_members) | [`StoreError::Unsupported`]: the engine reads the Group, changes the list and `replace`s it | add or remove members in time independent of the Group's size |
///
/// Whatever a store leaves out, the engine answers the same way through a slower path:
/// the [`suite`] and the shared HTTP suite check that every store, with or without the
/// optional methods, answers alike.
///
/// # Example
///
/// [`TinyStore`] is a complete store in about 200 lines: the required methods only, with
/// size-independent membership. [`MemoryStore`] is the indexed reference that implements
/// every optional method. Check a store with the [`suite`]:
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// use scim_core::store::{TinyStore, suite};
///
/// let report = suite::run(|| async { Ok::<_, std::convert::Infallible>(TinyStore::new()) }).await;
/// assert!(report.passed(), "{report}");
/// # }
/// ```
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new resource (RFC 7644 §3.3).
    ///
    /// # Errors
    ///
    /// [`StoreError::Uniqueness`] when its `id` or a unique value is taken in the tenant.
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), StoreError>;

    /// The resource with this `id` in the tenant, or `None` (RFC 7644 §3.4.1).
    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError>;

    /// Replaces a resource (RFC 7644 §3.5.1) if its stored version is `expected`; the new
    /// record carries the next version. A store that reads a User's derived `groups` in
    /// the same statement as the write hands them back ([`Replaced::with_groups`]); others
    /// answer [`Replaced::new`].
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionMismatch`], [`StoreError::Uniqueness`].
    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: Version,
    ) -> Result<Replaced, StoreError>;

    /// Deletes a resource (RFC 7644 §3.6) if `expected` is `None` or its stored version,
    /// and removes it from every Group of the tenant (see the cascade duty above).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionMismatch`].
    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<Version>,
    ) -> Result<(), StoreError>;

    /// Answers a resolved query (RFC 7644 §3.4.2; see the query duty above).
    async fn query(&self, ctx: &RequestContext, query: &Query<'_>)
    -> Result<QueryPage, StoreError>;

    /// Every direct membership of the resources `member_ids` in the Groups of the resource
    /// type `groups` (RFC 7643 §4.1.2), each with the Group's current `displayName`, in any
    /// order. Ids that are members of nothing contribute nothing.
    async fn memberships(
        &self,
        ctx: &RequestContext,
        groups: &ResourceTypeView,
        member_ids: &[&str],
    ) -> Result<Vec<Membership>, StoreError>;

    /// A copy of the resource that the store keeps at hand, for the engine to base a PUT
    /// or PATCH on without reading it (RFC 7644 §3.5.1, §3.5.2), or `None`.
    ///
    /// The copy may be out of date — another replica may have written since. The engine
    /// trusts it only through the compare-and-swap: it writes a change computed from the
    /// copy with [`replace`](Store::replace) and the copy's version, and when the copy
    /// may be what went wrong (a version mismatch or `NotFound` from `replace`, a failed
    /// `If-Match`, a PATCH that does not apply, no change at all) reads the resource with
    /// [`get`](Store::get) and starts over; other errors of `replace` are answered. So a
    /// copy is safe as long as a resource's `(id, version)` always names the same content,
    /// which the version duty above guarantees. A copy's attached `groups` are not trusted:
    /// the engine takes them from what `replace` hands back, or from
    /// [`memberships`](Store::memberships).
    ///
    /// Default: `None` (the engine reads with `get`). Override it when a read is a round
    /// trip the store can save (a database on another host).
    fn cached_copy(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Option<StoredResource> {
        let _ = (ctx, view, id);
        None
    }

    /// Whether [`query`](Store::query) applies this filter condition itself: a `pr` or a
    /// comparison on one attribute, or a whole value path (RFC 7644 §3.4.2.2). The engine
    /// puts the conditions a store applies into its queries and evaluates the others over
    /// the store's candidates (see [`ResolvedFilter::split`]). Answer `true` only for
    /// conditions the store applies with exactly the semantics of
    /// [`ResolvedFilter::matches`] on [`StoredResource::filter_json`] (a User's derived
    /// `groups` are not in that JSON). Default: none.
    fn filters(&self, view: &ResourceTypeView, condition: &Filter) -> bool {
        let _ = (view, condition);
        false
    }

    /// Whether [`query`](Store::query) orders by this sort itself, exactly as
    /// [`ResolvedSort::compare`] does. Default: no.
    fn sorts(&self, view: &ResourceTypeView, sort: &ResolvedSort) -> bool {
        let _ = (view, sort);
        false
    }

    /// Adds and removes members of a Group (RFC 7644 §3.5.2) atomically, in time
    /// independent of the Group's size (one insert for one added member), if `expected` is
    /// `None` or the stored version. Removals apply before additions; members already
    /// present are not added again. An effective change bumps the Group's meta
    /// ([`ResourceMeta::changed_at`] with `ctx.now`); a no-op keeps it and reports
    /// `changed: false`.
    ///
    /// The default answers [`StoreError::Unsupported`], and the engine reads the Group,
    /// applies the change ([`MembershipChange::apply_to`]) and [`replace`](Store::replace)s
    /// it, retrying on a version mismatch.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionMismatch`], [`StoreError::Unsupported`].
    async fn modify_members(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        group_id: &str,
        change: &MembershipChange,
        expected: Option<Version>,
    ) -> Result<MembershipOutcome, StoreError> {
        let _ = (ctx, group_id, change, expected);
        Err(StoreError::Unsupported(format!(
            "this store changes {} members by replacing the whole resource",
            view.resource_type.name
        )))
    }
}

/// A future of a [`Store`] method, as `async_trait` shapes them.
type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A shared store is a store (so a host can keep a handle to the store it gave the engine).
///
/// Written out rather than with `#[async_trait]`: each method hands back the shared store's
/// own future instead of boxing a second future around it.
impl<S: Store + ?Sized> Store for Arc<S> {
    fn create<'s, 'c, 'v, 'r, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        view: &'v ResourceTypeView,
        resource: &'r StoredResource,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'c: 'f,
        'v: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).create(ctx, view, resource)
    }

    fn get<'s, 'c, 'v, 'i, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        view: &'v ResourceTypeView,
        id: &'i str,
    ) -> StoreFuture<'f, Option<StoredResource>>
    where
        's: 'f,
        'c: 'f,
        'v: 'f,
        'i: 'f,
        Self: 'f,
    {
        (**self).get(ctx, view, id)
    }

    fn replace<'s, 'c, 'v, 'r, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        view: &'v ResourceTypeView,
        resource: &'r StoredResource,
        expected: Version,
    ) -> StoreFuture<'f, Replaced>
    where
        's: 'f,
        'c: 'f,
        'v: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).replace(ctx, view, resource, expected)
    }

    fn delete<'s, 'c, 'v, 'i, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        view: &'v ResourceTypeView,
        id: &'i str,
        expected: Option<Version>,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'c: 'f,
        'v: 'f,
        'i: 'f,
        Self: 'f,
    {
        (**self).delete(ctx, view, id, expected)
    }

    fn query<'s, 'c, 'q, 'a, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        query: &'q Query<'a>,
    ) -> StoreFuture<'f, QueryPage>
    where
        's: 'f,
        'c: 'f,
        'q: 'f,
        'a: 'f,
        Self: 'f,
    {
        (**self).query(ctx, query)
    }

    fn memberships<'s, 'c, 'g, 'm, 'i, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        groups: &'g ResourceTypeView,
        member_ids: &'m [&'i str],
    ) -> StoreFuture<'f, Vec<Membership>>
    where
        's: 'f,
        'c: 'f,
        'g: 'f,
        'm: 'f,
        'i: 'f,
        Self: 'f,
    {
        (**self).memberships(ctx, groups, member_ids)
    }

    fn cached_copy(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Option<StoredResource> {
        (**self).cached_copy(ctx, view, id)
    }

    fn filters(&self, view: &ResourceTypeView, condition: &Filter) -> bool {
        (**self).filters(view, condition)
    }

    fn sorts(&self, view: &ResourceTypeView, sort: &ResolvedSort) -> bool {
        (**self).sorts(view, sort)
    }

    fn modify_members<'s, 'c, 'v, 'g, 'm, 'f>(
        &'s self,
        ctx: &'c RequestContext,
        view: &'v ResourceTypeView,
        group_id: &'g str,
        change: &'m MembershipChange,
        expected: Option<Version>,
    ) -> StoreFuture<'f, MembershipOutcome>
    where
        's: 'f,
        'c: 'f,
        'v: 'f,
        'g: 'f,
        'm: 'f,
        Self: 'f,
    {
        (**self).modify_members(ctx, view, group_id, change, expected)
    }
}
