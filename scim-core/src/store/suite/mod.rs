//! The contract suite every [`Store`] runs (RFC 7644 §3.3–§3.6, §3.4.2, §3.14).
//!
//! [`run`] makes a fresh store per check with an async, fallible factory, runs **every**
//! check (one failure does not hide the others) and reports each as passed, failed or
//! skipped, by name. It covers every method a store may implement:
//!
//! * the required methods called directly: records kept as given, tenant isolation
//!   (RFC 7644 §6), uniqueness of every unique attribute compared case-insensitively
//!   (RFC 7643 §2.2, §4.1.1) also under 16 concurrent creates, compare-and-swap on the
//!   version (RFC 7644 §3.14), membership and the delete cascade (RFC 7643 §4.2), paging in
//!   `id` order by offset and by keyset position;
//! * the optional methods, each skipped (with the reason) when the store leaves it out:
//!   [`Store::modify_members`], and the filter conditions and sorts a store applies itself
//!   ([`Store::filters`], [`Store::sorts`]), which must give exactly what the engine's
//!   evaluator gives over the same records;
//! * the store behind a [`ScimEngine`](crate::ScimEngine), through requests: filters
//!   (including type errors on an empty store, `groups` of Users), sorting, cursor paging
//!   (every resource once while others come and go; cursors of other queries refused with
//!   `invalidCursor`) and membership PATCHes with weak `If-Match`, whichever path the store
//!   makes the engine take.
//!
//! Run it from a multi-threaded test so the concurrency check runs in parallel:
//!
//! ```no_run
//! use scim_core::MemoryStore;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn memory_store_honours_the_store_contract() {
//!     let report = scim_core::store::suite::run(|| async {
//!         Ok::<_, std::convert::Infallible>(MemoryStore::new())
//!     })
//!     .await;
//!     assert!(report.passed(), "{report}");
//! }
//! # fn main() {}
//! ```
//!
//! The suite uses the built-in User and Group resource types of
//! [`SchemaRegistry::default`] and the tenants `suite-a` and `suite-b`.

mod checks;
mod engine_checks;

use super::{ResourceMeta, Store, StoredResource};
use crate::context::{Principal, RequestContext};
use crate::resource::Resource;
use crate::schema::{ResourceTypeView, SchemaRegistry};
use crate::tolerance::Tolerances;
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// Every assertion held.
    Passed,
    /// A rule was broken: what happened.
    Failed(String),
    /// Not applicable to this store (an optional capability it does not offer): why.
    Skipped(String),
}

/// One check of [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The check's name, e.g. `uniqueness_is_case_insensitive`.
    pub name: &'static str,
    /// How it ended.
    pub outcome: CheckOutcome,
}

/// Every check of [`run`], in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuiteReport {
    /// The checks.
    pub checks: Vec<CheckReport>,
}

impl SuiteReport {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|c| matches!(c.outcome, CheckOutcome::Failed(_)))
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, CheckOutcome::Failed(_)))
    }

    /// The skipped checks.
    pub fn skipped(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, CheckOutcome::Skipped(_)))
    }
}

impl fmt::Display for SuiteReport {
    /// One line per check, then a summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        for check in &self.checks {
            match &check.outcome {
                CheckOutcome::Passed => {
                    passed += 1;
                    writeln!(f, "passed   {}", check.name)?;
                }
                CheckOutcome::Failed(why) => {
                    failed += 1;
                    writeln!(f, "FAILED   {}: {why}", check.name)?;
                }
                CheckOutcome::Skipped(why) => {
                    skipped += 1;
                    writeln!(f, "skipped  {}: {why}", check.name)?;
                }
            }
        }
        write!(
            f,
            "store suite: {passed} passed, {failed} failed, {skipped} skipped"
        )
    }
}

/// What a check returns: `Ok(None)` passed, `Ok(Some(reason))` skipped, `Err` failed.
pub(super) type Outcome = Result<Option<String>, String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!(
                        "{}: got `{:?}`, expected `{:?}`",
                        format!($($msg)+),
                        left,
                        right
                    ));
                }
            }
        }
    };
}
pub(super) use {ensure, ensure_eq};

/// Attaches what was being done to an unexpected error.
pub(super) trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: fmt::Debug> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error {e:?}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.ok_or_else(|| format!("{what}: missing"))
    }
}

/// Shared test data: the built-in User and Group types and two tenants.
pub(super) struct Fixture {
    pub(super) registry: SchemaRegistry,
    users: ResourceTypeView,
    groups: ResourceTypeView,
    pub(super) a: RequestContext,
    pub(super) b: RequestContext,
}

impl Fixture {
    fn new() -> Result<Self, String> {
        let registry = SchemaRegistry::default();
        let users = registry.resource_type("User").ctx("User type")?.clone();
        let groups = registry.resource_type("Group").ctx("Group type")?.clone();
        Ok(Self {
            registry,
            users,
            groups,
            a: RequestContext::new(
                Principal::new("suite-a", "suite"),
                "https://a.example/scim/v2",
            ),
            b: RequestContext::new(
                Principal::new("suite-b", "suite"),
                "https://b.example/scim/v2",
            ),
        })
    }

    pub(super) fn users(&self) -> &ResourceTypeView {
        &self.users
    }

    pub(super) fn groups(&self) -> &ResourceTypeView {
        &self.groups
    }

    /// A new record of `view` from a client body, with a fresh `id` (UUIDv7, so `id`
    /// order is creation order) and version 1.
    pub(super) fn build(
        &self,
        view: &ResourceTypeView,
        body: Value,
    ) -> Result<StoredResource, String> {
        let resource =
            Resource::from_client(view, body, &Tolerances::default()).ctx("from_client")?;
        let id = uuid::Uuid::now_v7().to_string();
        crate::engine::to_record(view, resource, &id, ResourceMeta::created_at(self.a.now))
            .ctx("to_record")
    }

    pub(super) fn user(&self, user_name: &str) -> Result<StoredResource, String> {
        self.build(self.users(), serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name }))
    }

    pub(super) fn group(&self, display: &str, members: &[&str]) -> Result<StoredResource, String> {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({ "value": m }))
            .collect();
        self.build(
            self.groups(),
            serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": display, "members": members }),
        )
    }

    /// `existing` replaced by a client body as a PUT would (next version).
    pub(super) fn replacement(
        &self,
        view: &ResourceTypeView,
        existing: &StoredResource,
        body: Value,
    ) -> Result<StoredResource, String> {
        let new = Resource::from_client(view, body, &Tolerances::default()).ctx("from_client")?;
        let old = crate::engine::to_resource(existing).ctx("to_resource")?;
        let new = new.keep_server_owned(&old, view);
        let meta = existing.meta().changed_at(self.a.now);
        crate::engine::to_record(view, new, existing.id(), meta).ctx("to_record")
    }
}

/// Runs every check against stores made by `make_store` (a fresh, empty store per check)
/// and reports each (see the [module docs](self)).
pub async fn run<S, E, F, Fut>(make_store: F) -> SuiteReport
where
    S: Store,
    E: fmt::Display,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, E>>,
{
    let mut report = SuiteReport::default();
    let fx = match Fixture::new() {
        Ok(fx) => fx,
        Err(message) => {
            report.checks.push(CheckReport {
                name: "fixture",
                outcome: CheckOutcome::Failed(message),
            });
            return report;
        }
    };
    macro_rules! check {
        ($module:ident :: $name:ident) => {{
            let outcome = match make_store().await {
                Err(err) => CheckOutcome::Failed(format!("the store factory failed: {err}")),
                Ok(store) => match $module::$name(Arc::new(store), &fx).await {
                    Ok(None) => CheckOutcome::Passed,
                    Ok(Some(reason)) => CheckOutcome::Skipped(reason),
                    Err(message) => CheckOutcome::Failed(message),
                },
            };
            report.checks.push(CheckReport {
                name: stringify!($name),
                outcome,
            });
        }};
    }
    check!(checks::records_round_trip);
    check!(checks::tenants_are_isolated);
    check!(checks::uniqueness_is_case_insensitive);
    check!(checks::uniqueness_holds_under_concurrency);
    check!(checks::totals_follow_creates_and_deletes);
    check!(checks::replace_and_delete_are_compare_and_swap);
    check!(checks::unknown_ids_are_not_found);
    check!(checks::memberships_follow_members);
    check!(checks::delete_cascades_to_groups);
    check!(checks::modify_members_changes_one_member);
    check!(checks::queries_page_in_id_order);
    check!(checks::applied_filters_match_the_evaluator);
    check!(checks::applied_sorts_match_the_comparator);
    check!(engine_checks::filters_through_the_engine);
    check!(engine_checks::sorting_through_the_engine);
    check!(engine_checks::cursor_paging_through_the_engine);
    check!(engine_checks::membership_patches_through_the_engine);
    report
}

/// `S` with only its required methods: [`Store::filters`], [`Store::sorts`] and
/// [`Store::modify_members`] keep their defaults, so the engine takes its fallback paths
/// (filtering and sorting in Rust, membership changes by read-modify-write). The suites run
/// every store of the workspace this way too, to check that a store implementing only the
/// required methods answers exactly what a full one answers.
#[derive(Debug, Clone, Default)]
pub struct RequiredOnly<S>(pub S);

#[async_trait::async_trait]
impl<S: Store> Store for RequiredOnly<S> {
    async fn create(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
    ) -> Result<(), super::StoreError> {
        self.0.create(ctx, view, resource).await
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
    ) -> Result<Option<StoredResource>, super::StoreError> {
        self.0.get(ctx, view, id).await
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        resource: &StoredResource,
        expected: super::Version,
    ) -> Result<super::Replaced, super::StoreError> {
        self.0.replace(ctx, view, resource, expected).await
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        view: &ResourceTypeView,
        id: &str,
        expected: Option<super::Version>,
    ) -> Result<(), super::StoreError> {
        self.0.delete(ctx, view, id, expected).await
    }

    async fn query(
        &self,
        ctx: &RequestContext,
        query: &super::Query<'_>,
    ) -> Result<super::QueryPage, super::StoreError> {
        self.0.query(ctx, query).await
    }

    async fn memberships(
        &self,
        ctx: &RequestContext,
        groups: &ResourceTypeView,
        member_ids: &[&str],
    ) -> Result<Vec<super::Membership>, super::StoreError> {
        self.0.memberships(ctx, groups, member_ids).await
    }
}
